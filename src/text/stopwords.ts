/**
 * Stopwords for the BM25 analyzer. Terms are compared after lower-casing (English, before
 * stemming) and after Traditional → Simplified conversion (Chinese).
 */

/** The standard English list (NLTK's, incl. contraction fragments our splitter produces: don't → don, t). */
export const ENGLISH_STOPWORDS: ReadonlySet<string> = new Set(
  (
    'i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers ' +
    'herself it its itself they them their theirs themselves what which who whom whose this that these those ' +
    'am is are was were be been being have has had having do does did doing would should could ought a an the ' +
    'and but if or because as until while of at by for with about against between into through during before ' +
    'after above below to from up down in out on off over under again further then once here there when where ' +
    'why how all any both each few more most other some such no nor not only own same so than too very s t can ' +
    'will just don shouldn now d ll m o re ve y ain aren couldn didn doesn hadn hasn haven isn ma mightn mustn ' +
    'needn shan wasn weren won wouldn also may might must shall us'
  ).split(' '),
);

/**
 * A compact Chinese list: function words, pronouns, particles, and question words (which are
 * query noise: "哪家公司…" should match documents about the company, not the word 哪).
 */
export const CHINESE_STOPWORDS: ReadonlySet<string> = new Set(
  (
    // particles, conjunctions, prepositions
    '的 地 得 之 了 着 过 吗 呢 吧 啊 呀 哦 嘛 么 呗 啦 哈 嗯 哇 和 与 及 以及 并 并且 且 而 而且 或 或者 还是 ' +
    '等 等等 也 都 又 还 就 才 只 但 但是 然而 可是 不过 因为 所以 因此 如果 若 虽然 即 即使 尽管 于是 ' +
    '是 在 有 被 把 将 对 对于 从 向 给 让 由 为 以 于 至 到 按 按照 关于 根据 通过 ' +
    // pronouns and demonstratives
    '我 你 您 他 她 它 我们 你们 他们 她们 它们 咱们 自己 这 那 这个 那个 这些 那些 这里 那里 这样 那样 ' +
    '这么 那么 这种 那种 其 其中 其他 其它 该 此 每 各 某 ' +
    // question words
    '哪 哪个 哪些 哪里 哪儿 哪家 哪位 哪年 哪一 什么 什么样 什么时候 怎么 怎样 怎么样 如何 为什么 为何 ' +
    '多少 几 几个 谁 何 何时 何地 是否 是不是 有没有 请问 请 呢 ' +
    // very common verbs/adverbs that carry no topic
    '一个 一些 一种 个 些 很 非常 最 更 已 已经 曾 曾经 会 能 可以 可能 应该 要 需要 没有 不 没'
  ).split(' '),
);
