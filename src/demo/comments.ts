// Short user comments / reviews about demo-world products, composed from phrase pools with
// numbers and scenarios so that two comments rarely coincide (real reviews do repeat, but the demo
// should leave near-duplicate detection to the deliberate syndicated news copies).

import { randomDay, slashTimestamp, type Lang } from './common.ts';
import { chance, pick, products, randInt, sample, type Product, type Rng } from './world.ts';

export interface DemoComment {
  product: Product;
  lang: Lang;
  user: string;
  rating: number;
  /** `YYYY/MM/DD HH:mm`. */
  postedAt: string;
  text: string;
  tags: string[];
}

const SCENES_ZH = ['汽车焊装', '电池模组', '3C装配', '仓储分拣', '食品包装', '钣金加工', '注塑', '光伏组件', '医药包装', '冷链仓库', '机加工', '家电总装'];
const SCENES_EN = ['auto body welding', 'battery module', 'electronics assembly', 'warehouse sorting', 'food packaging', 'sheet-metal', 'injection moulding', 'solar module', 'pharma packaging', 'cold-chain warehouse', 'machining', 'appliance assembly'];

const USERS_ZH = ['工厂老李', '设备部小王', '自动化阿强', '产线主管', '电气工程师', '采购老张', '精益小陈', '机电老周', '运维小刘', '车间主任'];
const USERS_EN = ['plant_engineer', 'automation_dave', 'ops_lead', 'maint_mike', 'buyer_sarah', 'controls_guy', 'lean_anna', 'line_manager', 'mech_tom', 'proc_eng'];

function user(rng: Rng, lang: Lang): string {
  const base = pick(rng, lang === 'zh' ? USERS_ZH : USERS_EN);
  return lang === 'zh' ? `${base}${randInt(rng, 1, 999)}` : `${base}_${randInt(rng, 1, 999)}`;
}

type Aspect = [text: string, tag: string];

function openerZh(rng: Rng, p: Product): string {
  const scene = pick(rng, SCENES_ZH);
  const n = randInt(rng, 1, 30);
  const m = randInt(rng, 2, 24);
  return pick(rng, [
    `我们厂${m}个月前上了${n}台${p.name_zh}，用在${scene}线上，`,
    `${p.name_zh}在${scene}产线用了${m}个月，`,
    `去年底采购了${n}套${p.category_zh}，主要给${scene}工段用，`,
    `${scene}项目上试用了${m}周${p.name_zh}，`,
    `对比了${randInt(rng, 2, 5)}家之后选了${p.name_zh}，目前${n}台在跑，`,
    `第${randInt(rng, 2, 4)}次复购了，这批${n}台放在${scene}车间，`,
  ]);
}

function openerEn(rng: Rng, p: Product): string {
  const scene = pick(rng, SCENES_EN);
  const n = randInt(rng, 2, 30);
  const m = randInt(rng, 2, 24);
  return pick(rng, [
    `We put ${n} units of the ${p.name_en} on our ${scene} line ${m} months ago.`,
    `Been running the ${p.name_en} in ${scene} for ${m} months now.`,
    `Bought ${n} ${p.category_en} units late last year for the ${scene} area.`,
    `Trialled the ${p.name_en} on a ${scene} project for ${m} weeks.`,
    `Compared ${randInt(rng, 2, 5)} vendors and went with the ${p.name_en}; ${n} running so far.`,
    `Repeat order number ${randInt(rng, 2, 4)} for the ${p.name_en}: ${n} units for the ${scene} shop.`,
  ]);
}

function goodZh(rng: Rng, p: Product): Aspect[] {
  return [
    [`${p.feature_zh}，实测基本名副其实`, '参数'],
    [`稳定性不错，${randInt(rng, 2, 12)}个月只停过${randInt(rng, 0, 2)}次机`, '稳定性'],
    [`调试比预期快，${randInt(rng, 2, 10)}天就上线了`, '调试'],
    [`售后响应很快，工程师${pick(rng, ['当天', '第二天', '四小时内'] as const)}就到了现场`, '售后'],
    [`性价比高，比进口同类便宜${randInt(rng, 15, 45)}%左右`, '价格'],
    [`软件界面直观，新员工${randInt(rng, 1, 3)}天就能上手`, '易用性'],
    [`能耗比旧设备低了${randInt(rng, 5, 30)}%`, '能耗'],
  ];
}

function badZh(rng: Rng, p: Product): Aspect[] {
  return [
    ['说明书写得太简略，很多参数要打电话问', '文档'],
    [`交货晚了${randInt(rng, 1, 6)}周，耽误了我们的排产`, '交付'],
    ['备件价格偏贵，而且要等货', '备件'],
    [`和我们的老系统对接花了${randInt(rng, 2, 6)}周`, '集成'],
    ['偶尔报通讯故障，重启后恢复，厂家说下个固件版本修复', '故障'],
    [`宣传的"${p.feature_zh.split(/[，、]/)[0]}"在我们的工况下要打点折扣`, '参数'],
  ];
}

function goodEn(rng: Rng, p: Product): Aspect[] {
  return [
    [`The spec (${p.feature_en}) holds up in practice.`, 'specs'],
    [`Very reliable: ${randInt(rng, 0, 2)} stops in ${randInt(rng, 2, 12)} months.`, 'reliability'],
    [`Commissioning took only ${randInt(rng, 2, 10)} days.`, 'commissioning'],
    [`Support is quick; their engineer was on site ${pick(rng, ['the same day', 'the next morning', 'within four hours'] as const)}.`, 'service'],
    [`Good value, roughly ${randInt(rng, 15, 45)}% cheaper than the imported equivalent.`, 'price'],
    [`The software is intuitive, new operators were productive in ${randInt(rng, 1, 3)} days.`, 'usability'],
    [`Energy use is down ${randInt(rng, 5, 30)}% versus the old kit.`, 'energy'],
  ];
}

function badEn(rng: Rng, p: Product): Aspect[] {
  return [
    ['The manual is thin, we had to call support for basic parameters.', 'documentation'],
    [`Delivery was ${randInt(rng, 2, 6)} weeks late, which hurt our schedule.`, 'delivery'],
    ['Spare parts are pricey and often back-ordered.', 'spares'],
    [`Integrating with our legacy system took ${randInt(rng, 2, 6)} weeks.`, 'integration'],
    ['Occasional comms faults, cleared by a restart; vendor says the next firmware fixes it.', 'faults'],
    [`The advertised "${p.feature_en.split(', ')[0]}" is a bit optimistic under our conditions.`, 'specs'],
  ];
}

/** How the equipment is run: a numeric detail most reviewers mention. */
function usageZh(rng: Rng): string {
  return pick(rng, [
    `${pick(rng, ['两班', '三班倒', '单班'])}运行，日均开机${randInt(rng, 8, 23)}小时`,
    `节拍从${randInt(rng, 40, 90)}秒降到了${randInt(rng, 20, 39)}秒`,
    `一个人现在能看${randInt(rng, 2, 8)}台`,
    `良率从${randInt(rng, 90, 96)}%提到了${randInt(rng, 97, 99)}.${randInt(rng, 0, 9)}%`,
    `供电是${pick(rng, ['380V', '220V', '480V'])}，现场安装用了${randInt(rng, 1, 5)}天`,
  ]);
}

function usageEn(rng: Rng): string {
  return pick(rng, [
    `We run ${pick(rng, ['two shifts', 'three shifts', 'a single shift'])}, about ${randInt(rng, 8, 23)} hours a day.`,
    `Cycle time went from ${randInt(rng, 40, 90)}s to ${randInt(rng, 20, 39)}s.`,
    `One operator now looks after ${randInt(rng, 2, 8)} of them.`,
    `Yield is up from ${randInt(rng, 90, 96)}% to ${randInt(rng, 97, 99)}.${randInt(rng, 0, 9)}%.`,
    `Install on site took ${randInt(rng, 1, 5)} days on ${pick(rng, ['380V', '220V', '480V'])} supply.`,
  ]);
}

// Closings by mood: [positive, neutral, negative].
const CLOSE_ZH = [
  ['总体推荐。', '打{r}分。', '会考虑继续采购。', '期待下一代产品。'],
  ['打{r}分。', '同行可以参考。', '有问题可以私信交流。', '中规中矩吧。'],
  ['希望厂家尽快改进。', '打{r}分。', '暂时不会复购了。', '建议谨慎选择。'],
];
const CLOSE_EN = [
  ['Recommended overall.', '{r}/5 from us.', 'We will likely buy more.', 'Looking forward to the next version.'],
  ['{r}/5 from us.', 'Happy to answer questions.', 'Worth a look if you are shopping.', 'Fine, not great.'],
  ['Hope the vendor fixes this soon.', '{r}/5 from us.', 'Not buying again for now.', 'Shop around first.'],
];

/** Ratings skew positive, as product reviews do. */
function rating(rng: Rng): number {
  return pick(rng, [5, 5, 4, 4, 4, 3, 3, 2, 1]);
}

/** One comment about a random product, ≈60% Chinese. */
export function composeComment(rng: Rng): DemoComment {
  const p = pick(rng, products);
  const lang: Lang = rng() < 0.6 ? 'zh' : 'en';
  const r = rating(rng);
  const goodCount = r >= 4 ? randInt(rng, 1, 2) : r === 3 ? 1 : 0;
  const badCount = r <= 2 ? randInt(rng, 1, 2) : r === 3 ? 1 : chance(rng, 0.2) ? 1 : 0;
  const aspects = [
    ...sample(rng, lang === 'zh' ? goodZh(rng, p) : goodEn(rng, p), goodCount),
    ...sample(rng, lang === 'zh' ? badZh(rng, p) : badEn(rng, p), badCount),
  ];
  const mood = r >= 4 ? 0 : r === 3 ? 1 : 2;
  const close = pick(rng, (lang === 'zh' ? CLOSE_ZH : CLOSE_EN)[mood]).replace('{r}', String(r));
  // Some people write their verdict on a new line: newlines inside a CSV field must survive.
  const breakLine = chance(rng, 0.08);
  let text: string;
  if (lang === 'zh') {
    const body = aspects.map((a) => a[0]).join('；');
    const usage = chance(rng, 0.75) ? `${usageZh(rng)}，` : '';
    text = `${openerZh(rng, p)}${usage}${body || '整体中规中矩'}。${breakLine ? '\n' : ''}${close}`;
  } else {
    const body = aspects.map((a) => a[0]).join(' ');
    const usage = chance(rng, 0.75) ? `${usageEn(rng)} ` : '';
    text = `${openerEn(rng, p)} ${usage}${body || 'Does the job, nothing special.'}${breakLine ? '\n' : ' '}${close}`;
  }
  const sentiment = lang === 'zh' ? (r >= 4 ? '好评' : r === 3 ? '中评' : '差评') : r >= 4 ? 'positive' : r === 3 ? 'neutral' : 'negative';
  const tags = [...new Set([sentiment, lang === 'zh' ? p.category_zh : p.category_en, ...aspects.map((a) => a[1])])];
  const day = randomDay(rng, `${p.launch_year}-03-01`, '2026-06-30');
  return { product: p, lang, user: user(rng, lang), rating: r, postedAt: slashTimestamp(rng, day), text, tags };
}

/** CSV columns of comments.csv, in order. */
export const commentColumns = ['comment_id', 'product_id', 'product', 'user', 'rating', 'posted_at', 'text', 'tags'] as const;

/** RFC 4180 quoting: quote when the field holds a comma, quote, CR/LF or edge whitespace. */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function commentRow(id: string, c: DemoComment): string {
  const name = c.lang === 'zh' ? c.product.name_zh : c.product.name_en;
  return [id, c.product.id, name, c.user, String(c.rating), c.postedAt, c.text, c.tags.join(';')].map(csvField).join(',');
}
