// Community posts about the demo world (expo visit notes, questions, event recaps, experience
// write-ups) as Markdown (some with YAML front matter), plain text and HTML files.

import { addDays, escapeHtml, priceText, randomDay, thousands, zhPlace, type Lang } from './common.ts';
import { fmtDay } from './news.ts';
import {
  chance,
  companyById,
  conferences,
  exhibitions,
  personById,
  pick,
  products,
  productsOf,
  randInt,
  sample,
  type Rng,
} from './world.ts';

export interface DemoPost {
  /** Path under posts/ ('/'-separated), e.g. 'expo-notes/2025/09/post-000012.md'. */
  relPath: string;
  content: string;
  /** `YYYY-MM-DD`: also used as the file's modification time. */
  day: string;
}

const HANDLES_ZH = ['逛展达人', '智造小白', '老机电', '产线观察员', '工控圈', '储能老兵', '物流人阿杰', '视觉算法狗'];
const HANDLES_EN = ['expo_walker', 'factory_floor', 'robot_curious', 'battery_nerd', 'logistics_lee', 'vision_eng', 'plc_whisperer', 'supply_sam'];

const handle = (rng: Rng, lang: Lang) => `${pick(rng, lang === 'zh' ? HANDLES_ZH : HANDLES_EN)}${randInt(rng, 10, 99)}`;

/** A personal aside with the poster's own numbers: what makes two similar posts differ. */
function aside(rng: Rng, lang: Lang, forum: string): string {
  if (forum === 'reviews' || forum === 'qa') return plantAside(rng, lang);
  const zh = [
    `我们公司这次去了${randInt(rng, 2, 12)}个人。`,
    `会后加了${randInt(rng, 5, 40)}个供应商的联系方式。`,
    `带回来${randInt(rng, 6, 50)}份资料，还在慢慢消化。`,
    `有家展商现场报价比线上便宜${randInt(rng, 3, 20)}%左右。`,
    `签到排队花了${randInt(rng, 5, 45)}分钟。`,
    `下次打算带${randInt(rng, 2, 6)}位工艺工程师一起来。`,
    `当天走了${randInt(rng, 12, 30)}000多步。`,
  ];
  const en = [
    `Our company sent ${randInt(rng, 2, 12)} people.`,
    `Came back with contact details for ${randInt(rng, 5, 40)} suppliers.`,
    `Collected ${randInt(rng, 6, 50)} brochures, still working through them.`,
    `One vendor quoted about ${randInt(rng, 3, 20)}% below its online price.`,
    `Check-in took ${randInt(rng, 5, 45)} minutes.`,
    `Next time I will bring ${randInt(rng, 2, 6)} process engineers.`,
    `Walked over ${randInt(rng, 12, 30)},000 steps that day.`,
  ];
  return sample(rng, lang === 'zh' ? zh : en, randInt(rng, 2, 3)).join(lang === 'zh' ? '' : ' ');
}

function plantAside(rng: Rng, lang: Lang): string {
  const zh = [
    `我们厂有${randInt(rng, 2, 20)}条产线。`,
    `现有设备平均用了${randInt(rng, 4, 15)}年。`,
    `维护团队一共${randInt(rng, 3, 25)}个人。`,
    `去年非计划停机大概${randInt(rng, 20, 300)}小时。`,
    `主要客户是${pick(rng, ['主机厂', '家电品牌', '电池厂', '出口贸易商'])}。`,
  ];
  const en = [
    `We run ${randInt(rng, 2, 20)} lines.`,
    `Our existing equipment averages ${randInt(rng, 4, 15)} years old.`,
    `The maintenance team is ${randInt(rng, 3, 25)} people.`,
    `Unplanned downtime last year was around ${randInt(rng, 20, 300)} hours.`,
    `Our main customers are ${pick(rng, ['car makers', 'appliance brands', 'battery plants', 'export traders'])}.`,
  ];
  return sample(rng, lang === 'zh' ? zh : en, randInt(rng, 2, 3)).join(lang === 'zh' ? '' : ' ');
}

interface Draft {
  forum: string;
  title: string;
  paragraphs: string[];
  day: string;
  tags: string[];
}

function expoNotes(rng: Rng, lang: Lang): Draft {
  const e = pick(rng, exhibitions);
  const visited = sample(rng, e.exhibitor_ids, randInt(rng, 2, Math.min(4, e.exhibitor_ids.length))).map((id) => companyById.get(id)!);
  const day = addDays(e.end_date, randInt(rng, 0, 6));
  const hours = randInt(rng, 3, 9);
  if (lang === 'zh') {
    const paragraphs = [
      `${fmtDay(e.start_date, 'zh')}去了${e.city_zh}的${e.name_zh}，在${e.venue_zh}逛了${hours}个小时，记录一下印象比较深的几家。`,
      ...visited.map((c) => {
        const p = pick(rng, productsOf(c.id));
        return `${c.name_zh}：重点看了${p.name_zh}，${p.feature_zh}。${pick(rng, ['现场演示很流畅。', '展台人很多，排了二十分钟才轮到。', '工作人员讲解很专业。', '价格没细问，感觉定位偏中高端。'])}`;
      }),
      pick(rng, ['整体感觉今年国产化方案明显多了，价格也更透明。', '建议第一天上午去，下午人太多。', '停车不方便，建议坐地铁。']),
    ];
    return { forum: 'expo-notes', title: `${e.name_zh}逛展笔记`, paragraphs, day, tags: ['逛展', e.name_zh] };
  }
  const paragraphs = [
    `Spent ${hours} hours at ${e.name_en} (${e.venue_en}, ${e.city_en}) on ${fmtDay(e.start_date, 'en')}. Notes on the stands that stood out.`,
    ...visited.map((c) => {
      const p = pick(rng, productsOf(c.id));
      return `${c.name_en}: mostly looked at the ${p.name_en} (${p.feature_en}). ${pick(rng, ['The live demo was smooth.', 'Busy stand, waited twenty minutes.', 'Staff knew their stuff.', 'Did not ask about pricing, feels mid-to-high end.'])}`;
    }),
    pick(rng, ['Overall, far more domestic solutions this year and clearer pricing.', 'Go on the first morning; afternoons are packed.', 'Parking is hard, take the metro.']),
  ];
  return { forum: 'expo-notes', title: `Notes from ${e.name_en}`, paragraphs, day, tags: ['expo', e.name_en] };
}

function question(rng: Rng, lang: Lang): Draft {
  const [a, b] = sample(rng, products, 2);
  const day = randomDay(rng, '2024-06-01', '2026-06-30');
  const budget = randInt(rng, 5, 200) * 10_000;
  if (lang === 'zh') {
    return {
      forum: 'qa',
      title: `求助：${a.name_zh}和${b.name_zh}怎么选？`,
      paragraphs: [
        `我们是一家做${pick(rng, ['汽车零部件', '小家电', '锂电池', '医疗器械', '五金'])}的工厂，今年预算大概${budget / 10_000}万元，想升级一下产线。`,
        `目前在看${companyById.get(a.company_id)!.name_zh}的${a.name_zh}（${a.feature_zh}）和${companyById.get(b.company_id)!.name_zh}的${b.name_zh}（${b.feature_zh}）。`,
        pick(rng, ['有用过的朋友能说说售后和稳定性怎么样吗？', '主要担心后期维护成本，求有经验的同行指点。', '销售说的都很好，想听听真实用户的意见。']),
      ],
      day,
      tags: ['求助', a.category_zh],
    };
  }
  return {
    forum: 'qa',
    title: `Question: ${a.name_en} or ${b.name_en}?`,
    paragraphs: [
      `We are a ${pick(rng, ['auto parts', 'small appliance', 'lithium battery', 'medical device', 'hardware'])} plant with a budget of about CNY ${thousands(budget)} this year for a line upgrade.`,
      `Shortlist: ${companyById.get(a.company_id)!.name_en}'s ${a.name_en} (${a.feature_en}) and ${companyById.get(b.company_id)!.name_en}'s ${b.name_en} (${b.feature_en}).`,
      pick(rng, ['Anyone running either? How are support and reliability?', 'Main worry is long-term maintenance cost, advice welcome.', 'Sales says everything is great, looking for real user opinions.']),
    ],
    day,
    tags: ['question', a.category_en],
  };
}

function eventRecap(rng: Rng, lang: Lang): Draft {
  const f = pick(rng, conferences);
  const speakers = sample(rng, f.speaker_ids, 2).map((id) => personById.get(id)!);
  const day = addDays(f.date, randInt(rng, 1, 5));
  if (lang === 'zh') {
    return {
      forum: 'events',
      title: `${f.name_zh}参会回顾`,
      paragraphs: [
        `${fmtDay(f.date, 'zh')}参加了在${zhPlace(f.city_zh, f.venue_zh)}举办的${f.name_zh}，主题包括${f.topics_zh.join('、')}。`,
        ...speakers.map((s) => `${companyById.get(s.company_id)!.name_zh}的${s.name_zh}（${s.title_zh}）讲了${pick(rng, f.topics_zh)}，${pick(rng, ['案例很扎实。', '数据很有说服力。', '干货不少，PPT 求分享。', '观点有些保守，但很务实。'])}`),
        pick(rng, ['茶歇时和几位同行聊了聊，大家都在关注投资回报周期。', '今年会场明显比去年人多。', '下午的圆桌讨论最精彩。']),
      ],
      day,
      tags: ['会议回顾', f.name_zh],
    };
  }
  return {
    forum: 'events',
    title: `Recap: ${f.name_en}`,
    paragraphs: [
      `Attended ${f.name_en} at the ${f.venue_en}, ${f.city_en} on ${fmtDay(f.date, 'en')}. Topics: ${f.topics_en.join(', ')}.`,
      ...speakers.map((s) => `${s.name_en} (${s.title_en}, ${companyById.get(s.company_id)!.name_en}) talked about ${pick(rng, f.topics_en)}. ${pick(rng, ['Solid case studies.', 'Convincing numbers.', 'Lots of substance, hope the slides get shared.', 'A bit conservative but practical.'])}`),
      pick(rng, ['Over coffee, everyone was talking about payback periods.', 'Noticeably busier than last year.', 'The afternoon panel was the highlight.']),
    ],
    day,
    tags: ['event recap', f.name_en],
  };
}

function experience(rng: Rng, lang: Lang): Draft {
  const p = pick(rng, products);
  const c = companyById.get(p.company_id)!;
  const months = randInt(rng, 2, 30);
  const day = randomDay(rng, `${p.launch_year}-06-01`, '2026-06-30');
  if (lang === 'zh') {
    return {
      forum: 'reviews',
      title: `${p.name_zh}使用${months}个月的体会`,
      paragraphs: [
        `厂里从${c.name_zh}引进${p.name_zh}已经${months}个月了，写点使用体会。`,
        `先说优点：${p.feature_zh}，这一点在我们的产线上体现得很明显，${pick(rng, ['节拍提升了', '良率提高了', '人工减少了'])}${randInt(rng, 5, 35)}%左右。`,
        `再说不足：${pick(rng, ['初期培训时间偏长', '和老设备的通讯协议需要额外网关', '部分备件需要从总部调货', '软件更新需要厂家远程支持'])}。`,
        `总的来说，以${p.category_zh}这个价位（约${priceText(p.price_cny, 'zh')}）来看，值得考虑。`,
      ],
      day,
      tags: ['使用体验', p.category_zh],
    };
  }
  return {
    forum: 'reviews',
    title: `${months} months with the ${p.name_en}`,
    paragraphs: [
      `We have had the ${p.name_en} from ${c.name_en} in service for ${months} months; some notes.`,
      `The good: ${p.feature_en}, which shows on our line; ${pick(rng, ['cycle time', 'yield', 'labour per shift'])} improved by about ${randInt(rng, 5, 35)}%.`,
      `The less good: ${pick(rng, ['initial training takes a while', 'talking to older machines needs an extra gateway', 'some spares ship from headquarters', 'software updates need the vendor to log in remotely'])}.`,
      `For a ${p.category_en} at around ${priceText(p.price_cny, 'en')}, worth a look.`,
    ],
    day,
    tags: ['experience', p.category_en],
  };
}

const DRAFTS = [expoNotes, question, eventRecap, experience];

/** A draft with the poster's aside inserted before its last paragraph. */
function withAside(rng: Rng, d: Draft, lang: Lang): Draft {
  const paragraphs = d.paragraphs.slice();
  paragraphs.splice(Math.max(1, paragraphs.length - 1), 0, aside(rng, lang, d.forum));
  return { ...d, paragraphs };
}

/** Renders a draft in one of the folder formats; `n` numbers the file. */
function render(rng: Rng, d: Draft, lang: Lang, n: number): DemoPost {
  const stem = `post-${String(n).padStart(6, '0')}`;
  const dir = `${d.forum}/${d.day.slice(0, 4)}/${d.day.slice(5, 7)}`;
  const author = handle(rng, lang);
  const style = pick(rng, ['md-front', 'md', 'txt', 'html'] as const);
  if (style === 'md-front') {
    const fm = ['---', `title: ${JSON.stringify(d.title)}`, `date: ${d.day}`, `author: ${JSON.stringify(author)}`, `tags: [${d.tags.map((t) => JSON.stringify(t)).join(', ')}]`, '---', ''];
    return { relPath: `${dir}/${stem}.md`, day: d.day, content: `${fm.join('\n')}\n${d.paragraphs.join('\n\n')}\n` };
  }
  if (style === 'md') {
    const sig = lang === 'zh' ? `—— ${author}` : `— ${author}`;
    return { relPath: `${dir}/${stem}.md`, day: d.day, content: `# ${d.title}\n\n${d.paragraphs.join('\n\n')}\n\n${sig}\n` };
  }
  if (style === 'txt') {
    return { relPath: `${dir}/${stem}.txt`, day: d.day, content: `${d.title}\n\n${d.paragraphs.join('\n\n')}\n` };
  }
  const htmlLang = lang === 'zh' ? 'zh-CN' : 'en';
  const html = [
    '<!DOCTYPE html>',
    `<html lang="${htmlLang}">`,
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeHtml(d.title)}</title>`,
    `<meta name="author" content="${escapeHtml(author)}">`,
    `<meta name="keywords" content="${escapeHtml(d.tags.join(','))}">`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(d.title)}</h1>`,
    ...d.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    chance(rng, 0.5) ? `<p>${lang === 'zh' ? '分享到：' : 'Share:'}</p>` : '',
    '</body>',
    '</html>',
    '',
  ].filter((l, i, a) => l !== '' || i === a.length - 1);
  return { relPath: `${dir}/${stem}.html`, day: d.day, content: html.join('\n') };
}

/** One community post (≈60% Chinese) numbered `n`. */
export function composePost(rng: Rng, n: number): DemoPost {
  const lang: Lang = rng() < 0.6 ? 'zh' : 'en';
  const d = withAside(rng, pick(rng, DRAFTS)(rng, lang), lang);
  return render(rng, d, lang, n);
}
