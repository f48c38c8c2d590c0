// News articles about the demo world (Chinese and English) from varied templates: product
// launches, exhibitions, conference talks, funding, partnerships, published reports, earnings.
// An article is kept as paragraphs of sentences so a syndicated copy can change exactly one.

import {
  OUTLETS,
  addDays,
  escapeHtml,
  isoTimestamp,
  oneDecimal,
  priceText,
  randomDay,
  thousands,
  writer,
  zhPlace,
  type Lang,
} from './common.ts';
import {
  chance,
  companies,
  companyById,
  conferences,
  exhibitions,
  peopleOf,
  personById,
  pick,
  productsOf,
  products,
  randInt,
  reports,
  sample,
  type Company,
  type Person,
  type Rng,
} from './world.ts';

export const newsTypes = ['product_launch', 'exhibition', 'conference_talk', 'funding', 'partnership', 'report_published', 'earnings'] as const;
export type NewsType = (typeof newsTypes)[number];

export interface NewsArticle {
  lang: Lang;
  type: NewsType;
  headline: string;
  /** Paragraphs, each a list of sentences (sentences carry their own final punctuation). */
  paragraphs: string[][];
  /** `YYYY-MM-DD` (Beijing calendar day). */
  day: string;
  /** ISO 8601 timestamp. */
  date: string;
  writer: string;
  /** The outlet whose site carries this copy (link, copyright line). */
  outlet: (typeof OUTLETS)[number];
  /** The outlet the byline credits: the original one for syndicated copies. */
  bylineOutlet: (typeof OUTLETS)[number];
  tags: string[];
  /** Rendered as HTML (<p> paragraphs) rather than plain text. */
  html: boolean;
}

const nm = (c: { name_zh: string; name_en: string }, lang: Lang) => (lang === 'zh' ? c.name_zh : c.name_en);
const industry = (c: Company, lang: Lang) => (lang === 'zh' ? c.industry_zh : c.industry_en);

function zhDate(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  return `${y}年${m}月${d}日`;
}
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
function enDate(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  return `${MONTHS[m - 1]} ${d}, ${y}`;
}
const fmtDay = (day: string, lang: Lang) => (lang === 'zh' ? zhDate(day) : enDate(day));

function spokesperson(rng: Rng, c: Company): Person {
  const staff = peopleOf(c.id);
  return staff.length ? pick(rng, staff) : personById.get(c.ceo_id)!;
}

// ---------------------------------------------------------------------------------------------
// Shared paragraphs
// ---------------------------------------------------------------------------------------------

const QUOTES_ZH = [
  '客户最关心的是稳定性和交付周期，我们今年把平均交付时间缩短了近三分之一',
  '{topic}正在从试点走向规模化，接下来两年是关键窗口期',
  '我们不追求参数上的第一，而是要让一线工程师用得顺手',
  '海外订单的增长超出预期，东南亚和中东市场的需求尤其旺盛',
  '研发投入我们会继续保持在营收的{pct}%以上',
  '只有把数据真正打通，{topic}的价值才能释放出来',
  '今年我们和{n}家行业客户一起做了联合验证，反馈非常积极',
  '价格战不可持续，行业最终要回到技术和服务上来',
  '我们希望用更开放的接口，让合作伙伴在平台上做二次开发',
  '安全是底线，所有新产品都按照最严格的标准做了测试',
];
const QUOTES_EN = [
  'Customers care most about reliability and lead times, and this year we cut average delivery time by almost a third',
  '{topic} is moving from pilots to scale, and the next two years are the window that matters',
  'We are not chasing the top spec on paper; we want engineers on the shop floor to find it easy to use',
  'Overseas orders have grown faster than we expected, especially in Southeast Asia and the Middle East',
  'We will keep R&D spending above {pct}% of revenue',
  'The value of {topic} only shows up once the data actually flows end to end',
  'This year we ran joint validations with {n} industrial customers and the feedback has been very positive',
  'Price wars are not sustainable; the industry will have to compete on technology and service again',
  'We want open interfaces so partners can build their own applications on the platform',
  'Safety is the baseline: every new product has been tested against the strictest standards',
];

function quoteParagraph(rng: Rng, c: Company, topic: string, lang: Lang): string[] {
  const p = spokesperson(rng, c);
  const fill = (s: string) =>
    s.replace('{topic}', topic).replace('{pct}', String(randInt(rng, 6, 15))).replace('{n}', String(randInt(rng, 8, 60)));
  if (lang === 'zh') {
    const q = fill(pick(rng, QUOTES_ZH));
    const tail = pick(rng, ['表示', '在接受采访时说', '对记者表示', '在发布会上介绍']);
    return [`“${q}。”${c.name_zh}${p.title_zh}${p.name_zh}${tail}。`];
  }
  const q = fill(pick(rng, QUOTES_EN));
  const tail = pick(rng, ['said', 'told reporters', 'said in an interview', 'said at the event']);
  return [`"${q}," ${p.name_en}, ${p.title_en} of ${c.name_en}, ${tail}.`];
}

function backgroundParagraph(rng: Rng, c: Company, lang: Lang): string[] {
  const countries = randInt(rng, 12, 70);
  const patents = randInt(rng, 80, 1200);
  if (lang === 'zh') {
    return [
      c.description_zh,
      pick(rng, [`公司产品已出口至${countries}个国家和地区。`, `截至目前，公司累计获得授权专利${patents}项。`, `公司在${c.city_zh}和海外设有${randInt(rng, 2, 9)}个研发中心。`]),
    ];
  }
  return [
    c.description_en,
    pick(rng, [`Its products are sold in ${countries} countries and regions.`, `The company holds ${patents} granted patents.`, `It runs ${randInt(rng, 2, 9)} R&D centres in ${c.city_en} and abroad.`]),
  ];
}

function marketParagraph(rng: Rng, c: Company, lang: Lang): string[] {
  const year = randInt(rng, 2023, 2025);
  const size = randInt(rng, 80, 2400);
  const growth = oneDecimal(3 + rng() * 35);
  const share = oneDecimal(2 + rng() * 28);
  if (lang === 'zh') {
    return [
      `据行业机构统计，${year}年国内${c.industry_zh}市场规模约为${size}亿元，同比增长${growth}%。`,
      pick(rng, [
        `其中国产品牌的市场份额已提升至${share}%。`,
        `头部企业的集中度仍在提高，前五名合计占比约${share}%。`,
        `出口占比约为${share}%，较上年明显提升。`,
      ]),
    ];
  }
  return [
    `Industry data put China's ${c.industry_en} market at about CNY ${oneDecimal(size / 10)} billion in ${year}, up ${growth}% year on year.`,
    pick(rng, [
      `Domestic brands now hold roughly ${share}% of it.`,
      `The top five vendors together account for about ${share}%.`,
      `Exports make up about ${share}% of sales, a clear rise on the previous year.`,
    ]),
  ];
}

function reportCitation(rng: Rng, lang: Lang): string[] {
  const r = pick(rng, reports);
  const c = companyById.get(r.company_id)!;
  if (lang === 'zh') return [`${c.name_zh}此前发布的《${r.title_zh}》显示，${r.summary_zh}`];
  return [`According to ${c.name_en}'s "${r.title_en}", ${r.summary_en.charAt(0).toLowerCase()}${r.summary_en.slice(1)}`];
}

function upcomingShow(rng: Rng, lang: Lang): string[] {
  const e = pick(rng, exhibitions);
  const n = randInt(rng, 300, 2600);
  if (lang === 'zh') {
    return [`${e.name_zh}将于${zhDate(e.start_date)}在${e.venue_zh}开幕，预计吸引${n}家展商参展。`, `主办方${companyById.get(e.organiser_id)!.name_zh}表示，今年专业观众预登记人数创下新高。`];
  }
  return [
    `${e.name_en} opens at the ${e.venue_en} on ${enDate(e.start_date)}, with about ${thousands(n)} exhibitors expected.`,
    `Organiser ${companyById.get(e.organiser_id)!.name_en} says trade-visitor pre-registrations are at a record high.`,
  ];
}

const ANALYST_ZH = [
  '业内分析人士认为，下游制造业的资本开支正在回暖，但客户对投资回报的要求明显更高。',
  '有分析师指出，行业正在从单一设备销售转向“设备+软件+服务”的整体方案。',
  '多位采购负责人表示，交付周期和售后响应速度已成为选型时的首要考量。',
  '业内普遍认为，标准化接口的缺失仍是制约规模化应用的主要瓶颈。',
  '也有观点认为，原材料价格波动可能在短期内挤压企业利润空间。',
  '市场研究人士预计，未来三年相关领域的年均复合增长率将保持在两位数。',
  '部分中小客户则反映，融资成本偏高使其推迟了设备更新计划。',
  '有专家提醒，企业在出海过程中需要更加重视本地认证和合规要求。',
];
const ANALYST_EN = [
  'Analysts say capital spending by manufacturers is recovering, but buyers now demand a much clearer return on investment.',
  'Several analysts note a shift from selling single machines to bundles of equipment, software and service.',
  'Purchasing managers say delivery times and after-sales response now top their selection criteria.',
  'Many in the industry see the lack of standard interfaces as the main barrier to large-scale adoption.',
  'Others warn that volatile raw-material prices could squeeze margins in the near term.',
  'Market researchers expect double-digit annual growth in the segment over the next three years.',
  'Some smaller customers say high financing costs have led them to postpone equipment upgrades.',
  'Experts caution that companies going abroad must pay closer attention to local certification and compliance.',
];

function analystParagraph(rng: Rng, lang: Lang): string[] {
  return sample(rng, lang === 'zh' ? ANALYST_ZH : ANALYST_EN, randInt(rng, 1, 3));
}

function customerCase(rng: Rng, c: Company, lang: Lang): string[] {
  const host = pick(rng, companies.filter((x) => x.id !== c.id));
  const gain = randInt(rng, 8, 45);
  const months = randInt(rng, 3, 18);
  if (lang === 'zh') {
    return [
      `在${host.city_zh}，${host.name_zh}已在其生产基地引入${c.name_zh}的方案。`,
      pick(rng, [`上线${months}个月后，相关工序效率提升约${gain}%。`, `据介绍，项目投资回收期约为${months}个月。`, `改造后单位产品能耗下降${gain}%左右。`]),
    ];
  }
  return [
    `In ${host.city_en}, ${host.name_en} has deployed ${c.name_en}'s solution at its production base.`,
    pick(rng, [
      `After ${months} months in service, throughput on the affected process rose by about ${gain}%.`,
      `The project is expected to pay back in about ${months} months.`,
      `Energy use per unit fell by around ${gain}% after the upgrade.`,
    ]),
  ];
}

const CLOSINGS_ZH = [
  '{c}表示，将在年内公布更多合作进展。',
  '该公司未透露具体财务数据。',
  '{c}计划于下季度启动新一轮产能扩建。',
  '据悉，相关产品已开放样机申请。',
  '截至发稿，{c}尚未就此发布进一步公告。',
  '更多信息可关注{c}官方网站。',
];
const CLOSINGS_EN = [
  '{c} said it would announce further partnerships later this year.',
  'The company did not disclose financial details.',
  '{c} plans to start another capacity expansion next quarter.',
  'Evaluation units are available on request, according to the company.',
  '{c} said more information would be posted on its website.',
  'A spokesperson declined to comment on pricing for large orders.',
];

function closing(rng: Rng, c: Company, lang: Lang): string[] {
  return [pick(rng, lang === 'zh' ? CLOSINGS_ZH : CLOSINGS_EN).replace('{c}', nm(c, lang))];
}

/** 1–3 context paragraphs drawn from the shared pool, so articles of one template differ. */
function contextParagraphs(rng: Rng, c: Company, lang: Lang): string[][] {
  const makers = [
    () => backgroundParagraph(rng, c, lang),
    () => marketParagraph(rng, c, lang),
    () => reportCitation(rng, lang),
    () => upcomingShow(rng, lang),
    () => analystParagraph(rng, lang),
    () => customerCase(rng, c, lang),
  ];
  return sample(rng, makers, randInt(rng, 2, 4)).map((make) => make());
}

// ---------------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------------

interface Draft {
  headline: string;
  lead: string[][];
  company: Company;
  topic: string;
  day: string;
  tags: string[];
}

type Template = (rng: Rng, lang: Lang) => Draft;

const productLaunch: Template = (rng, lang) => {
  const p = pick(rng, products);
  const c = companyById.get(p.company_id)!;
  const day = randomDay(rng, `${p.launch_year}-01-05`, `${p.launch_year}-12-20`);
  const feature = lang === 'zh' ? p.feature_zh : p.feature_en;
  const units = randInt(rng, 2, 40) * 50;
  if (lang === 'zh') {
    const headline = pick(rng, [`${c.name_zh}发布${p.name_zh}`, `${c.name_zh}推出新款${p.category_zh}${p.name_zh}`, `${p.name_zh}正式上市，${feature}`, `瞄准${c.industry_zh}升级需求，${c.name_zh}推出${p.name_zh}`]);
    return {
      headline,
      company: c,
      topic: p.category_zh,
      day,
      tags: ['新品发布', c.name_zh, p.category_zh],
      lead: [
        [`${zhDate(day)}，${c.name_zh}在${c.city_zh}正式发布${p.name_zh}。`, `这款${p.category_zh}的主要特点是${feature}。`],
        [
          `官方公布的指导价为${priceText(p.price_cny, 'zh')}起。`,
          pick(rng, [`首批${units}台预计于下月开始交付。`, `目前已收到${units}台意向订单。`, `该产品将率先面向${pick(rng, ['汽车', '3C电子', '新能源', '食品饮料', '医药'])}行业客户。`]),
        ],
      ],
    };
  }
  const headline = pick(rng, [`${c.name_en} launches ${p.name_en}`, `${c.name_en} unveils new ${p.category_en}`, `${p.name_en} goes on sale with ${feature}`, `${c.name_en} targets ${c.industry_en} upgrades with ${p.name_en}`]);
  return {
    headline,
    company: c,
    topic: p.category_en,
    day,
    tags: ['product launch', c.name_en, p.category_en],
    lead: [
      [`${c.name_en} launched the ${p.name_en} in ${c.city_en} on ${enDate(day)}.`, `The ${p.category_en} offers ${feature}.`],
      [
        `List prices start at ${priceText(p.price_cny, 'en')}.`,
        pick(rng, [`The first ${units} units ship next month.`, `The company says it already holds letters of intent for ${units} units.`, `It will first target customers in the ${pick(rng, ['automotive', 'electronics', 'new-energy', 'food and beverage', 'pharmaceutical'])} sector.`]),
      ],
    ],
  };
};

const exhibitionNews: Template = (rng, lang) => {
  const e = pick(rng, exhibitions);
  const c = companyById.get(pick(rng, e.exhibitor_ids))!;
  const p = pick(rng, productsOf(c.id));
  const day = addDays(e.start_date, randInt(rng, -3, 2));
  const booth = `${randInt(rng, 1, 8)}${pick(rng, ['A', 'B', 'C', 'D', 'E', 'H'])}${randInt(rng, 10, 99)}`;
  const area = randInt(rng, 4, 40) * 9;
  const visitors = randInt(rng, 30, 180);
  if (lang === 'zh') {
    return {
      headline: pick(rng, [`${c.name_zh}携${p.name_zh}亮相${e.name_zh}`, `${e.name_zh}开幕，${c.name_zh}展台人气火爆`, `直击${e.name_zh}：${c.name_zh}展示${p.category_zh}新成果`]),
      company: c,
      topic: p.category_zh,
      day,
      tags: ['展会', e.name_zh, c.name_zh],
      lead: [
        [`${e.name_zh}于${zhDate(e.start_date)}在${zhPlace(e.city_zh, e.venue_zh)}开幕，展期至${zhDate(e.end_date)}。`, `${c.name_zh}在${booth}展位设置了约${area}平方米的展区。`],
        [`展会期间，${c.name_zh}重点展示了${p.name_zh}，主要特点是${p.feature_zh}。`, `据现场工作人员介绍，开幕首日展台接待专业观众超过${visitors * 10}人次。`],
      ],
    };
  }
  return {
    headline: pick(rng, [`${c.name_en} brings ${p.name_en} to ${e.name_en}`, `${e.name_en} opens; crowds at ${c.name_en} stand`, `At ${e.name_en}, ${c.name_en} shows new ${p.category_en} work`]),
    company: c,
    topic: p.category_en,
    day,
    tags: ['exhibition', e.name_en, c.name_en],
    lead: [
      [`${e.name_en} opened at the ${e.venue_en} in ${e.city_en} on ${enDate(e.start_date)} and runs until ${enDate(e.end_date)}.`, `${c.name_en} occupies about ${area} square metres at booth ${booth}.`],
      [`The centrepiece of its stand is the ${p.name_en}, which offers ${p.feature_en}.`, `Staff said the stand received more than ${thousands(visitors * 10)} trade visitors on the first day.`],
    ],
  };
};

const conferenceTalk: Template = (rng, lang) => {
  const f = pick(rng, conferences);
  const s = personById.get(pick(rng, f.speaker_ids))!;
  const c = companyById.get(s.company_id)!;
  const ti = randInt(rng, 0, f.topics_zh.length - 1);
  const topic = lang === 'zh' ? f.topics_zh[ti] : f.topics_en[ti];
  const day = addDays(f.date, randInt(rng, 0, 1));
  const attendees = randInt(rng, 4, 30) * 100;
  if (lang === 'zh') {
    return {
      headline: pick(rng, [`${s.name_zh}：${topic}进入规模化落地阶段`, `${f.name_zh}在${f.city_zh}举行，聚焦${f.topics_zh.join('、')}`, `${c.name_zh}${s.title_zh}${s.name_zh}在${f.name_zh}发表主题演讲`]),
      company: c,
      topic,
      day,
      tags: ['会议', f.name_zh, topic],
      lead: [
        [`${zhDate(f.date)}，${f.name_zh}在${zhPlace(f.city_zh, f.venue_zh)}举行，约${attendees}名业内人士参会。`, `本届会议围绕${f.topics_zh.join('、')}等议题展开讨论。`],
        [`${c.name_zh}${s.title_zh}${s.name_zh}以“${topic}的机遇与挑战”为题发表演讲。`, pick(rng, [`${s.name_zh}分享了公司在${topic}方面的${randInt(rng, 3, 20)}个落地案例。`, `演讲中披露，公司相关业务收入同比增长${randInt(rng, 15, 90)}%。`, `演讲后的圆桌环节吸引了大量观众提问。`])],
      ],
    };
  }
  return {
    headline: pick(rng, [`${s.name_en}: ${topic} is ready to scale`, `${f.name_en} in ${f.city_en} focuses on ${f.topics_en.join(', ')}`, `${c.name_en}'s ${s.title_en} gives keynote at ${f.name_en}`]),
    company: c,
    topic,
    day,
    tags: ['conference', f.name_en, topic],
    lead: [
      [`${f.name_en} took place at the ${f.venue_en} in ${f.city_en} on ${enDate(f.date)}, drawing about ${thousands(attendees)} attendees.`, `Sessions covered ${f.topics_en.join(', ')}.`],
      [`${s.name_en}, ${s.title_en} of ${c.name_en}, spoke on "Opportunities and challenges in ${topic}".`, pick(rng, [`The talk walked through ${randInt(rng, 3, 20)} customer deployments.`, `Related revenue grew ${randInt(rng, 15, 90)}% year on year, the talk revealed.`, `The panel that followed drew a long queue of questions.`])],
    ],
  };
};

const INVESTORS: [string, string][] = [
  ['北岸资本', 'North Shore Capital'],
  ['晨光创投', 'Dawnlight Ventures'],
  ['江海产业基金', 'Jianghai Industrial Fund'],
  ['远山投资', 'Far Mountain Investment'],
  ['启辰资本', 'Qichen Capital'],
  ['丰禾创投', 'Fenghe Ventures'],
  ['长河资本', 'Long River Capital'],
];
const ROUNDS: [string, string][] = [['A轮', 'Series A'], ['B轮', 'Series B'], ['B+轮', 'Series B+'], ['C轮', 'Series C'], ['Pre-IPO轮', 'pre-IPO']];

const funding: Template = (rng, lang) => {
  const c = pick(rng, companies);
  const [lead, co] = sample(rng, INVESTORS, 2);
  const ri = randInt(rng, 0, ROUNDS.length - 1);
  const amountYi = 0.5 + rng() * 12;
  const amount = oneDecimal(amountYi);
  const amountEn = `CNY ${thousands(Math.round(amountYi * 10) * 10)} million`;
  const day = randomDay(rng, '2024-01-10', '2026-06-20');
  const use = randInt(rng, 0, 2);
  if (lang === 'zh') {
    const useText = ['新一代产品研发', '海外市场拓展', '产能扩建'][use];
    return {
      headline: pick(rng, [`${c.name_zh}完成${amount}亿元${ROUNDS[ri][0]}融资`, `${c.industry_zh}赛道再获加注：${c.name_zh}宣布完成${ROUNDS[ri][0]}融资`]),
      company: c,
      topic: c.industry_zh,
      day,
      tags: ['融资', c.name_zh, c.industry_zh],
      lead: [
        [`${c.name_zh}${zhDate(day)}宣布完成${amount}亿元${ROUNDS[ri][0]}融资，由${lead[0]}领投，${co[0]}跟投。`],
        [`本轮资金将主要用于${useText}。`, `这是该公司近${randInt(rng, 2, 4)}年来的第${randInt(rng, 2, 5)}次融资。`],
      ],
    };
  }
  const useText = ['next-generation R&D', 'overseas expansion', 'new production capacity'][use];
  return {
    headline: pick(rng, [`${c.name_en} raises ${amountEn} in ${ROUNDS[ri][1]} round`, `Investors back ${c.industry_en}: ${c.name_en} closes ${ROUNDS[ri][1]}`]),
    company: c,
    topic: c.industry_en,
    day,
    tags: ['funding', c.name_en, c.industry_en],
    lead: [
      [`${c.name_en} said on ${enDate(day)} it had raised ${amountEn} in a ${ROUNDS[ri][1]} round led by ${lead[1]}, with ${co[1]} participating.`],
      [`The money will go mainly to ${useText}.`, `It is the company's round number ${randInt(rng, 2, 5)} in ${randInt(rng, 2, 4)} years.`],
    ],
  };
};

const partnership: Template = (rng, lang) => {
  const [a, b] = sample(rng, companies, 2);
  const day = randomDay(rng, '2024-02-01', '2026-06-30');
  const years = randInt(rng, 3, 5);
  const pa = pick(rng, productsOf(a.id));
  if (lang === 'zh') {
    return {
      headline: pick(rng, [`${a.name_zh}与${b.name_zh}签署战略合作协议`, `${a.name_zh}牵手${b.name_zh}，共建${a.industry_zh}联合方案`]),
      company: a,
      topic: a.industry_zh,
      day,
      tags: ['合作', a.name_zh, b.name_zh],
      lead: [
        [`${zhDate(day)}，${a.name_zh}与${b.name_zh}在${a.city_zh}签署为期${years}年的战略合作协议。`],
        [`双方将围绕${pa.name_zh}在${b.industry_zh}场景中的应用开展联合研发与市场推广。`, pick(rng, [`双方计划共同建设${randInt(rng, 1, 5)}个示范工厂。`, `合作首期预计覆盖${randInt(rng, 20, 200)}家终端客户。`])],
      ],
    };
  }
  return {
    headline: pick(rng, [`${a.name_en} and ${b.name_en} sign strategic partnership`, `${a.name_en} teams up with ${b.name_en} on joint ${a.industry_en} offering`]),
    company: a,
    topic: a.industry_en,
    day,
    tags: ['partnership', a.name_en, b.name_en],
    lead: [
      [`${a.name_en} and ${b.name_en} signed a ${years}-year strategic partnership in ${a.city_en} on ${enDate(day)}.`],
      [`The two will jointly develop and market applications of the ${pa.name_en} in ${b.industry_en}.`, pick(rng, [`They plan ${randInt(rng, 1, 5)} joint demonstration factories.`, `The first phase is expected to reach ${randInt(rng, 20, 200)} end customers.`])],
    ],
  };
};

const reportPublished: Template = (rng, lang) => {
  const r = pick(rng, reports);
  const c = companyById.get(r.company_id)!;
  const day = addDays(r.publish_date, randInt(rng, 0, 3));
  if (lang === 'zh') {
    return {
      headline: pick(rng, [`${c.name_zh}发布《${r.title_zh}》`, `《${r.title_zh}》：${r.summary_zh.split('，')[0]}`]),
      company: c,
      topic: r.title_zh,
      day,
      tags: ['报告', c.name_zh, r.topic],
      lead: [[`${zhDate(r.publish_date)}，${c.name_zh}正式发布《${r.title_zh}》。`, r.summary_zh], [`报告基于对${randInt(rng, 80, 900)}家企业的调研和公开数据整理而成。`]],
    };
  }
  return {
    headline: pick(rng, [`${c.name_en} publishes "${r.title_en}"`, `Report: ${r.summary_en.split(',')[0]}`]),
    company: c,
    topic: r.topic.replace(/_/g, ' '),
    day,
    tags: ['report', c.name_en, r.topic],
    lead: [[`${c.name_en} published "${r.title_en}" on ${enDate(r.publish_date)}.`, r.summary_en], [`It draws on a survey of ${randInt(rng, 80, 900)} companies and public data.`]],
  };
};

const earnings: Template = (rng, lang) => {
  const c = pick(rng, companies);
  const year = randInt(rng, 2024, 2025);
  const half = chance(rng, 0.5);
  const revenueYi = (c.employees * (0.8 + rng() * 1.6)) / (half ? 200 : 100);
  const revenue = oneDecimal(revenueYi);
  const revenueEn = `CNY ${thousands(Math.round(revenueYi * 10) * 10)} million`;
  const growth = oneDecimal(-8 + rng() * 50);
  const margin = oneDecimal(12 + rng() * 30);
  const day = half ? randomDay(rng, `${year}-08-10`, `${year}-08-30`) : randomDay(rng, `${year + 1}-03-15`, `${year + 1}-04-28`);
  const down = growth.startsWith('-');
  if (lang === 'zh') {
    const period = half ? `${year}年上半年` : `${year}年全年`;
    const change = down ? `同比下降${growth.slice(1)}%` : `同比增长${growth}%`;
    return {
      headline: `${c.name_zh}${period}营收${revenue}亿元，${change}`,
      company: c,
      topic: c.industry_zh,
      day,
      tags: ['财报', c.name_zh],
      lead: [[`${c.name_zh}发布${period}业绩报告，实现营业收入${revenue}亿元，${change}。`, `综合毛利率为${margin}%。`], [pick(rng, ['海外业务收入占比进一步提升。', '公司表示，新产品放量是收入增长的主要动力。', '公司称，行业价格竞争对利润率形成一定压力。'])]],
    };
  }
  const period = half ? `the first half of ${year}` : `full-year ${year}`;
  const change = down ? `down ${growth.slice(1)}%` : `up ${growth}%`;
  return {
    headline: `${c.name_en} reports ${revenueEn} revenue for ${period}, ${change}`,
    company: c,
    topic: c.industry_en,
    day,
    tags: ['earnings', c.name_en],
    lead: [[`${c.name_en} reported revenue of ${revenueEn} for ${period}, ${change} year on year.`, `Gross margin was ${margin}%.`], [pick(rng, ['Overseas sales made up a larger share than a year earlier.', 'The company credited new products for most of the growth.', 'It said price competition weighed on margins.'])]],
  };
};

const TEMPLATES: [NewsType, Template, number][] = [
  ['product_launch', productLaunch, 5],
  ['exhibition', exhibitionNews, 5],
  ['conference_talk', conferenceTalk, 3],
  ['funding', funding, 2],
  ['partnership', partnership, 3],
  ['report_published', reportPublished, 2],
  ['earnings', earnings, 2],
];
const TEMPLATE_WEIGHT = TEMPLATES.reduce((s, t) => s + t[2], 0);

function pickTemplate(rng: Rng): [NewsType, Template] {
  let r = rng() * TEMPLATE_WEIGHT;
  for (const [type, make, w] of TEMPLATES) {
    if ((r -= w) < 0) return [type, make];
  }
  return [TEMPLATES[0][0], TEMPLATES[0][1]];
}

/** Composes one article; ≈60% Chinese, ≈40% English; about half rendered as HTML. */
export function composeArticle(rng: Rng): NewsArticle {
  const lang: Lang = rng() < 0.6 ? 'zh' : 'en';
  const [type, make] = pickTemplate(rng);
  const d = make(rng, lang);
  const paragraphs = [...d.lead, quoteParagraph(rng, d.company, d.topic, lang), ...contextParagraphs(rng, d.company, lang), closing(rng, d.company, lang)];
  const outlet = pick(rng, OUTLETS);
  return {
    lang,
    type,
    headline: d.headline,
    paragraphs,
    day: d.day,
    date: isoTimestamp(rng, d.day),
    writer: writer(rng, lang),
    outlet,
    bylineOutlet: outlet,
    tags: [...new Set([...d.tags, industry(d.company, lang)])],
    html: chance(rng, 0.5),
  };
}

const SYNDICATION_LEADS_ZH = ['据悉，', '据介绍，', '记者了解到，', '另据消息，'];
const SYNDICATION_LEADS_EN = ['Reportedly, ', 'According to the company, ', 'Sources say ', 'As reported, '];

/**
 * A syndicated copy: another outlet re-runs the article under its own headline, credited to the
 * original byline, with exactly one sentence reworded (an attribution phrase in front of it) —
 * a near duplicate for the deduper, not an exact one.
 */
export function syndicatedCopy(a: NewsArticle, rng: Rng): NewsArticle {
  const paragraphs = a.paragraphs.map((p) => p.slice());
  // Reword a sentence in a middle paragraph (never the lead or the closing).
  const pi = randInt(rng, 1, Math.max(1, paragraphs.length - 2));
  const si = randInt(rng, 0, paragraphs[pi].length - 1);
  const sentence = paragraphs[pi][si];
  if (a.lang === 'zh') paragraphs[pi][si] = `${pick(rng, SYNDICATION_LEADS_ZH)}${sentence}`;
  else {
    const lead = pick(rng, SYNDICATION_LEADS_EN);
    // Lower-case the first word unless it is a name or acronym ("The" → "the", "ABB" stays).
    const rest = /^[A-Z][a-z]/.test(sentence) && /^(The|This|It|Its|A|An|Analysts|Several|Many|Others|Some|Experts|Market|Purchasing|Industry)\b/.test(sentence)
      ? sentence.charAt(0).toLowerCase() + sentence.slice(1)
      : sentence;
    paragraphs[pi][si] = `${lead}${rest}`;
  }
  const outlet = pick(rng, OUTLETS.filter((o) => o.host !== a.outlet.host));
  const headline = a.lang === 'zh' ? `${pick(rng, ['转载', '快讯', '关注'])}｜${a.headline}` : `${pick(rng, ['Update', 'Roundup', 'In brief'])}: ${a.headline}`;
  const day = addDays(a.day, randInt(rng, 0, 2));
  return { ...a, headline, paragraphs, outlet, bylineOutlet: a.bylineOutlet, day, date: isoTimestamp(rng, day) };
}

const joinSentences = (sentences: string[], lang: Lang) => sentences.join(lang === 'zh' ? '' : ' ');

/**
 * The article body as a source would export it: HTML (<p> paragraphs) or plain text, with a
 * byline and the boilerplate lines real sites wrap articles in (share prompts, copyright).
 */
export function renderContent(a: NewsArticle): string {
  const year = a.day.slice(0, 4);
  const outletName = a.lang === 'zh' ? a.outlet.name_zh : a.outlet.name_en;
  const creditName = a.lang === 'zh' ? a.bylineOutlet.name_zh : a.bylineOutlet.name_en;
  const byline = a.lang === 'zh' ? `${creditName}记者 ${a.writer}` : `By ${a.writer}, ${creditName}`;
  const share = a.lang === 'zh' ? '分享到：' : 'Share:';
  const copyright = a.lang === 'zh' ? `版权所有 © ${year} ${outletName}，未经授权不得转载` : `© ${year} ${outletName}. All rights reserved.`;
  const texts = a.paragraphs.map((p) => joinSentences(p, a.lang));
  if (a.html) {
    return [`<p class="byline">${escapeHtml(byline)}</p>`, ...texts.map((t) => `<p>${escapeHtml(t)}</p>`), `<p class="share">${share}</p>`, `<p class="copyright">${escapeHtml(copyright)}</p>`].join('\n');
  }
  return [byline, ...texts, share, copyright].join('\n\n');
}

/** A stable URL for the article on its outlet. */
export function articleUrl(a: NewsArticle, id: string): string {
  return `https://${a.outlet.host}/${a.day.slice(0, 4)}/${a.day.slice(5, 7)}/${id}.html`;
}

/** The `fmtDay` used in texts, exported for the posts generator. */
export { fmtDay };
