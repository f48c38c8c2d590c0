// The demo company world: one invented, internally consistent set of entities (companies, people,
// products, exhibitions, conferences, reports) in the industrial-tech / trade-show domain.
// The secondary-data generator (generate.ts) writes news, comments and posts ABOUT these entities,
// and the fine-tuning pipeline builds its structured records FROM them, so both describe the same
// world. Pure data + a seeded PRNG: no I/O, no clock, no Math.random — importing it is deterministic.

// ---------------------------------------------------------------------------------------------
// Seeded PRNG and helpers
// ---------------------------------------------------------------------------------------------

import { createRng, type Rng } from '../util/rng.ts';

export { createRng, type Rng };

/** Derives an independent seed from a base seed and a label (FNV-1a), so sub-streams do not correlate. */
export function deriveSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Integer in [min, max] (both inclusive). */
export function randInt(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

/** True with probability p. */
export function chance(rng: Rng, p: number): boolean {
  return rng() < p;
}

/** One element of a non-empty array. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick: empty array');
  return items[Math.floor(rng() * items.length)];
}

/** A shuffled copy (Fisher–Yates); the input is not modified. */
export function shuffle<T>(rng: Rng, items: readonly T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** `count` distinct elements (or all of them when count ≥ length), in random order. */
export function sample<T>(rng: Rng, items: readonly T[], count: number): T[] {
  return shuffle(rng, items).slice(0, Math.max(0, Math.min(count, items.length)));
}

// ---------------------------------------------------------------------------------------------
// Entity types
// ---------------------------------------------------------------------------------------------

export interface Company {
  id: string; // co-001
  name_zh: string;
  name_en: string;
  /** Stable machine key, e.g. 'industrial_robotics'. */
  industry: string;
  industry_zh: string;
  industry_en: string;
  city_zh: string;
  city_en: string;
  founded: number;
  employees: number;
  /** Person id of the chief executive. */
  ceo_id: string;
  website: string;
  description_zh: string;
  description_en: string;
}

/** executive: company leadership; contact: sales/marketing/engineering contact; visitor: trade-show buyer. */
export type PersonRole = 'executive' | 'contact' | 'visitor';

export interface Person {
  id: string; // p-001
  name_zh: string;
  name_en: string;
  company_id: string;
  title_zh: string;
  title_en: string;
  role: PersonRole;
  /** PII. */
  email: string;
  /** PII. */
  phone: string;
}

/** Person fields that are personal data: redact or drop them before training or display. */
export const PERSON_PII_FIELDS = ['email', 'phone'] as const;

export interface Product {
  id: string; // pr-001
  company_id: string;
  name_zh: string;
  name_en: string;
  /** Stable machine key, e.g. 'collaborative_robot'. */
  category: string;
  category_zh: string;
  category_en: string;
  launch_year: number;
  /** List price in CNY. */
  price_cny: number;
  /** Headline feature, e.g. '7 公斤负载…' / '7 kg payload…'. */
  feature_zh: string;
  feature_en: string;
  description_zh: string;
  description_en: string;
}

export interface Exhibition {
  id: string; // ex-001
  name_zh: string;
  name_en: string;
  city_zh: string;
  city_en: string;
  venue_zh: string;
  venue_en: string;
  /** YYYY-MM-DD. */
  start_date: string;
  end_date: string;
  organiser_id: string;
  exhibitor_ids: string[];
}

export interface Conference {
  id: string; // cf-001
  name_zh: string;
  name_en: string;
  city_zh: string;
  city_en: string;
  venue_zh: string;
  venue_en: string;
  /** YYYY-MM-DD. */
  date: string;
  topics_zh: string[];
  topics_en: string[];
  speaker_ids: string[];
}

export interface Report {
  id: string; // rp-001
  title_zh: string;
  title_en: string;
  company_id: string;
  /** YYYY-MM-DD. */
  publish_date: string;
  topic: string;
  summary_zh: string;
  summary_en: string;
}

// ---------------------------------------------------------------------------------------------
// Cities
// ---------------------------------------------------------------------------------------------

const CITIES = {
  shenzhen: ['深圳', 'Shenzhen'],
  shanghai: ['上海', 'Shanghai'],
  beijing: ['北京', 'Beijing'],
  hangzhou: ['杭州', 'Hangzhou'],
  suzhou: ['苏州', 'Suzhou'],
  guangzhou: ['广州', 'Guangzhou'],
  wuhan: ['武汉', 'Wuhan'],
  chengdu: ['成都', 'Chengdu'],
  hefei: ['合肥', 'Hefei'],
  xian: ['西安', "Xi'an"],
  nanjing: ['南京', 'Nanjing'],
  dongguan: ['东莞', 'Dongguan'],
  changsha: ['长沙', 'Changsha'],
  qingdao: ['青岛', 'Qingdao'],
  tianjin: ['天津', 'Tianjin'],
  xiamen: ['厦门', 'Xiamen'],
} as const satisfies Record<string, readonly [string, string]>;
type CityKey = keyof typeof CITIES;

const INDUSTRIES = {
  industrial_robotics: ['工业机器人', 'industrial robotics'],
  batteries: ['动力电池', 'batteries'],
  logistics_software: ['物流软件', 'logistics software'],
  sensors: ['传感器', 'sensors'],
  exhibitions: ['会展服务', 'exhibition services'],
  lasers: ['激光加工', 'laser processing'],
  industrial_internet: ['工业互联网', 'industrial internet'],
  machine_vision: ['机器视觉', 'machine vision'],
  hydrogen: ['氢能', 'hydrogen energy'],
  machine_tools: ['数控机床', 'CNC machine tools'],
  supply_chain: ['供应链软件', 'supply-chain software'],
  semiconductors: ['功率半导体', 'power semiconductors'],
  drones: ['工业无人机', 'industrial drones'],
  energy_storage: ['储能系统', 'energy storage'],
  automation: ['工业自动化', 'industrial automation'],
  mobile_robots: ['移动机器人', 'mobile robots'],
  industrial_safety: ['工业安全', 'industrial safety'],
  environmental_tech: ['环境监测', 'environmental monitoring'],
  motors: ['伺服电机', 'servo motors'],
  industrial_software: ['工业软件', 'industrial software'],
  testing: ['检测认证', 'testing and certification'],
  industrial_ai: ['工业人工智能', 'industrial AI'],
} as const satisfies Record<string, readonly [string, string]>;
type IndustryKey = keyof typeof INDUSTRIES;

// ---------------------------------------------------------------------------------------------
// Companies
// ---------------------------------------------------------------------------------------------

// [name_zh, name_en, industry, city, founded, employees, domain, what_zh, what_en]
type CompanyRow = [string, string, IndustryKey, CityKey, number, number, string, string, string];
const COMPANY_ROWS: CompanyRow[] = [
  ['华科智能', 'HuaKe Intelligence', 'industrial_robotics', 'shenzhen', 2012, 3200, 'huake-intel.com', '协作机器人与焊接机器人', 'collaborative and welding robots'],
  ['北辰电池', 'Beichen Battery', 'batteries', 'hefei', 2009, 8600, 'beichen-battery.com', '磷酸铁锂与钠离子动力电池', 'LFP and sodium-ion traction batteries'],
  ['云途物流科技', 'YunTu Logistics Tech', 'logistics_software', 'hangzhou', 2016, 740, 'yuntu-logistics.com', '仓储管理与运输调度软件', 'warehouse management and transport scheduling software'],
  ['精测传感', 'JingCe Sensing', 'sensors', 'suzhou', 2011, 1150, 'jingce-sensing.com', '压力、位移与激光测距传感器', 'pressure, displacement and laser ranging sensors'],
  ['星河会展', 'Xinghe Exhibitions', 'exhibitions', 'shanghai', 2005, 420, 'xinghe-expo.com', '工业与科技类专业展会的主办与运营', 'organising and running industrial and technology trade fairs'],
  ['博远激光', 'Boyuan Laser', 'lasers', 'wuhan', 2008, 2300, 'boyuan-laser.com', '光纤激光器与激光切割焊接设备', 'fibre lasers and laser cutting and welding systems'],
  ['蓝鲸工业互联网', 'BlueWhale Industrial Internet', 'industrial_internet', 'beijing', 2015, 960, 'bluewhale-iiot.com', '设备联网与工业数据平台', 'equipment connectivity and industrial data platforms'],
  ['启明视觉', 'Qiming Vision', 'machine_vision', 'hefei', 2014, 680, 'qiming-vision.com', '工业相机与视觉检测系统', 'industrial cameras and visual inspection systems'],
  ['众能氢能', 'Zhongneng Hydrogen', 'hydrogen', 'guangzhou', 2017, 530, 'zhongneng-h2.com', '燃料电池电堆与制氢设备', 'fuel-cell stacks and electrolysers'],
  ['天工数控', 'Tiangong CNC', 'machine_tools', 'tianjin', 2003, 1900, 'tiangong-cnc.com', '五轴加工中心与数控系统', 'five-axis machining centres and CNC controllers'],
  ['汇通供应链', 'Huitong Supply Chain', 'supply_chain', 'shenzhen', 2013, 1350, 'huitong-scm.com', '制造业采购与供应链协同平台', 'procurement and supply-chain collaboration for manufacturers'],
  ['鼎新半导体', 'Dingxin Semiconductor', 'semiconductors', 'shanghai', 2010, 2750, 'dingxin-semi.com', 'IGBT 与碳化硅功率器件', 'IGBT and silicon-carbide power devices'],
  ['锐驰无人机', 'Ruichi Drones', 'drones', 'shenzhen', 2015, 880, 'ruichi-uav.com', '巡检与物流无人机', 'inspection and logistics drones'],
  ['中联博览', 'Zhonglian Expo Group', 'exhibitions', 'beijing', 1998, 610, 'zhonglian-expo.com', '国际工业博览会与行业论坛', 'international industrial fairs and industry forums'],
  ['海川储能', 'Haichuan Energy Storage', 'energy_storage', 'xiamen', 2018, 1420, 'haichuan-ess.com', '工商业与电网侧储能系统', 'commercial and grid-scale energy storage systems'],
  ['凌云自动化', 'Lingyun Automation', 'automation', 'nanjing', 2006, 1600, 'lingyun-auto.com', 'PLC、变频器与产线自动化方案', 'PLCs, drives and production-line automation'],
  ['智行机器人', 'Zhixing Robotics', 'mobile_robots', 'dongguan', 2016, 690, 'zhixing-robotics.com', 'AGV 与自主移动机器人', 'AGVs and autonomous mobile robots'],
  ['安泰工业安全', 'Antai Industrial Safety', 'industrial_safety', 'qingdao', 2007, 540, 'antai-safety.com', '安全光幕、防爆设备与安全控制器', 'safety light curtains, explosion-proof equipment and safety controllers'],
  ['华南会展服务', 'Huanan Exhibition Services', 'exhibitions', 'guangzhou', 2002, 350, 'huanan-expo.com', '华南地区制造业展会与配套服务', 'manufacturing trade fairs and services in South China'],
  ['清源环境科技', 'Qingyuan Environmental Tech', 'environmental_tech', 'chengdu', 2012, 470, 'qingyuan-env.com', '工业排放与水质在线监测', 'online monitoring of industrial emissions and water quality'],
  ['长风电机', 'Changfeng Motors', 'motors', 'changsha', 2004, 2100, 'changfeng-motor.com', '伺服电机与驱动器', 'servo motors and drives'],
  ['数联科技', 'Shulian Technology', 'industrial_software', 'xian', 2014, 820, 'shulian-tech.com', '数字孪生与制造执行系统', 'digital twins and manufacturing execution systems'],
  ['恒信检测', 'Hengxin Testing', 'testing', 'hangzhou', 2001, 1250, 'hengxin-testing.com', '电池、电气与电磁兼容检测认证', 'battery, electrical and EMC testing and certification'],
  ['九章数据', 'Jiuzhang Data', 'industrial_ai', 'beijing', 2018, 390, 'jiuzhang-data.com', '工业大模型与预测性维护', 'industrial foundation models and predictive maintenance'],
];

const pad3 = (n: number) => String(n).padStart(3, '0');
const companyId = (i: number) => `co-${pad3(i + 1)}`;
const personId = (i: number) => `p-${pad3(i + 1)}`;

export const companies: readonly Company[] = COMPANY_ROWS.map(
  ([name_zh, name_en, industry, city, founded, employees, domain, what_zh, what_en], i) => {
    const [city_zh, city_en] = CITIES[city];
    const [industry_zh, industry_en] = INDUSTRIES[industry];
    return {
      id: companyId(i),
      name_zh,
      name_en,
      industry,
      industry_zh,
      industry_en,
      city_zh,
      city_en,
      founded,
      employees,
      // The first 24 people are the CEOs, in company order.
      ceo_id: personId(i),
      website: `https://www.${domain}`,
      description_zh: `${name_zh}成立于${founded}年，总部位于${city_zh}，专注于${what_zh}，现有员工约${employees}人。`,
      description_en: `Founded in ${founded} and headquartered in ${city_en}, ${name_en} focuses on ${what_en} and employs about ${employees} people.`,
    };
  },
);

// ---------------------------------------------------------------------------------------------
// People
// ---------------------------------------------------------------------------------------------

// [family_zh, given_zh, family_en, given_en]
const NAMES: [string, string, string, string][] = [
  ['陈', '建国', 'Chen', 'Jianguo'], ['李', '文博', 'Li', 'Wenbo'], ['王', '海涛', 'Wang', 'Haitao'], ['张', '晓燕', 'Zhang', 'Xiaoyan'],
  ['刘', '志强', 'Liu', 'Zhiqiang'], ['杨', '慧敏', 'Yang', 'Huimin'], ['赵', '国平', 'Zhao', 'Guoping'], ['黄', '立新', 'Huang', 'Lixin'],
  ['周', '明远', 'Zhou', 'Mingyuan'], ['吴', '佳琪', 'Wu', 'Jiaqi'], ['徐', '振华', 'Xu', 'Zhenhua'], ['孙', '丽娟', 'Sun', 'Lijuan'],
  ['马', '骏', 'Ma', 'Jun'], ['朱', '永康', 'Zhu', 'Yongkang'], ['胡', '雅婷', 'Hu', 'Yating'], ['郭', '鹏飞', 'Guo', 'Pengfei'],
  ['何', '德胜', 'He', 'Desheng'], ['高', '静怡', 'Gao', 'Jingyi'], ['林', '嘉豪', 'Lin', 'Jiahao'], ['罗', '春梅', 'Luo', 'Chunmei'],
  ['郑', '宏伟', 'Zheng', 'Hongwei'], ['梁', '思远', 'Liang', 'Siyuan'], ['谢', '玉兰', 'Xie', 'Yulan'], ['宋', '天宇', 'Song', 'Tianyu'],
  ['唐', '欣然', 'Tang', 'Xinran'], ['许', '浩然', 'Xu', 'Haoran'], ['韩', '雪', 'Han', 'Xue'], ['冯', '国栋', 'Feng', 'Guodong'],
  ['邓', '子涵', 'Deng', 'Zihan'], ['曹', '瑞', 'Cao', 'Rui'], ['彭', '晓东', 'Peng', 'Xiaodong'], ['曾', '美玲', 'Zeng', 'Meiling'],
  ['肖', '俊杰', 'Xiao', 'Junjie'], ['田', '雨萱', 'Tian', 'Yuxuan'], ['董', '立军', 'Dong', 'Lijun'], ['袁', '诗琪', 'Yuan', 'Shiqi'],
  ['潘', '文涛', 'Pan', 'Wentao'], ['于', '婧', 'Yu', 'Jing'], ['蒋', '伟东', 'Jiang', 'Weidong'], ['蔡', '颖', 'Cai', 'Ying'],
  ['余', '志明', 'Yu', 'Zhiming'], ['杜', '若溪', 'Du', 'Ruoxi'], ['叶', '承泽', 'Ye', 'Chengze'], ['程', '晓峰', 'Cheng', 'Xiaofeng'],
  ['苏', '曼', 'Su', 'Man'], ['魏', '建华', 'Wei', 'Jianhua'], ['吕', '梓萱', 'Lyu', 'Zixuan'], ['丁', '一凡', 'Ding', 'Yifan'],
  ['任', '家乐', 'Ren', 'Jiale'], ['沈', '佩琳', 'Shen', 'Peilin'], ['姚', '远航', 'Yao', 'Yuanhang'], ['卢', '欣怡', 'Lu', 'Xinyi'],
  ['姜', '宇轩', 'Jiang', 'Yuxuan'], ['崔', '秀英', 'Cui', 'Xiuying'], ['钟', '浩宇', 'Zhong', 'Haoyu'], ['谭', '悦', 'Tan', 'Yue'],
  ['陆', '明哲', 'Lu', 'Mingzhe'], ['汪', '可馨', 'Wang', 'Kexin'], ['范', '立群', 'Fan', 'Liqun'], ['金', '思雨', 'Jin', 'Siyu'],
];

// Titles for the 36 non-CEO people, in rotation: [title_zh, title_en, role]
const TITLES: [string, string, PersonRole][] = [
  ['首席技术官', 'Chief Technology Officer', 'executive'],
  ['销售总监', 'Sales Director', 'contact'],
  ['市场经理', 'Marketing Manager', 'contact'],
  ['产品经理', 'Product Manager', 'contact'],
  ['采购经理', 'Procurement Manager', 'visitor'],
  ['研发副总裁', 'VP of R&D', 'executive'],
  ['解决方案工程师', 'Solutions Engineer', 'contact'],
  ['海外业务总监', 'Director of International Business', 'contact'],
  ['设备主管', 'Equipment Supervisor', 'visitor'],
];

export const people: readonly Person[] = NAMES.map(([fzh, gzh, fen, gen], i) => {
  const ceo = i < COMPANY_ROWS.length;
  // Non-CEOs spread over the companies with a stride so each company gets one or two.
  const companyIndex = ceo ? i : ((i - COMPANY_ROWS.length) * 7) % COMPANY_ROWS.length;
  const [title_zh, title_en, role] = ceo ? (['首席执行官', 'Chief Executive Officer', 'executive'] as const) : TITLES[(i - COMPANY_ROWS.length) % TITLES.length];
  const domain = COMPANY_ROWS[companyIndex][6];
  const local = `${gen.toLowerCase()}.${fen.toLowerCase()}`;
  // Invented numbers in a fixed pattern; 138 0000 xxxx-style blocks are never real subscribers here.
  const phone = `+86 13${(i % 9) + 1} ${String(1000 + ((i * 7919) % 9000)).padStart(4, '0')} ${String(1000 + ((i * 104729) % 9000)).padStart(4, '0')}`;
  return {
    id: personId(i),
    name_zh: fzh + gzh,
    name_en: `${gen} ${fen}`,
    company_id: companyId(companyIndex),
    title_zh,
    title_en,
    role,
    email: `${local}@${domain}`,
    phone,
  };
});

// ---------------------------------------------------------------------------------------------
// Products
// ---------------------------------------------------------------------------------------------

// [company index (0-based), name_zh, name_en, category, category_zh, category_en, launch year, price CNY, feature_zh, feature_en]
type ProductRow = [number, string, string, string, string, string, number, number, string, string];
const PRODUCT_ROWS: ProductRow[] = [
  [0, '灵犀 C7 协作机器人', 'LingXi C7 Cobot', 'collaborative_robot', '协作机器人', 'collaborative robot', 2024, 168000, '7 公斤负载、重复定位精度 ±0.02 毫米', '7 kg payload and ±0.02 mm repeatability'],
  [0, '焊星 W20 焊接机器人', 'HanXing W20 Welding Robot', 'welding_robot', '焊接机器人', 'welding robot', 2023, 238000, '20 公斤负载，内置焊缝跟踪', '20 kg payload with built-in seam tracking'],
  [0, '华科 RC-OS 机器人控制器', 'HuaKe RC-OS Robot Controller', 'robot_controller', '机器人控制器', 'robot controller', 2025, 52000, '支持图形化编程与多机协同', 'graphical programming and multi-robot coordination'],
  [1, '北辰 LFP-280 储能电芯', 'Beichen LFP-280 Cell', 'battery_cell', '电池电芯', 'battery cell', 2023, 420, '280Ah 容量、循环寿命 8000 次', '280 Ah capacity and 8,000-cycle life'],
  [1, '北辰钠电 N1 电池包', 'Beichen Sodium N1 Pack', 'battery_pack', '电池包', 'battery pack', 2025, 26000, '低温 -30℃ 仍保持 85% 容量', 'keeps 85% capacity at -30 °C'],
  [1, '北辰 BMS-6 电池管理系统', 'Beichen BMS-6', 'battery_management', '电池管理系统', 'battery management system', 2024, 3800, '单体电压采样精度 ±1 毫伏', '±1 mV cell voltage sensing'],
  [2, '云途 WMS 仓储管理系统', 'YunTu WMS', 'warehouse_software', '仓储管理软件', 'warehouse management software', 2021, 150000, '支持波次拣选与多仓库存协同', 'wave picking and multi-warehouse inventory'],
  [2, '云途 TMS 运输调度平台', 'YunTu TMS', 'transport_software', '运输管理软件', 'transport management software', 2022, 120000, '智能路径规划，降低空驶率', 'route optimisation that cuts empty runs'],
  [2, '云途数字月台', 'YunTu Smart Dock', 'yard_software', '月台调度软件', 'dock scheduling software', 2025, 60000, '预约到货与月台排队可视化', 'delivery appointments and dock queue visibility'],
  [3, '精测 PX-500 压力变送器', 'JingCe PX-500 Pressure Transmitter', 'pressure_sensor', '压力传感器', 'pressure sensor', 2022, 1800, '0.05% 精度、IP68 防护', '0.05% accuracy and IP68 rating'],
  [3, '精测 LD-30 激光位移传感器', 'JingCe LD-30 Laser Displacement Sensor', 'displacement_sensor', '位移传感器', 'displacement sensor', 2024, 6500, '分辨率 0.5 微米，采样率 50kHz', '0.5 µm resolution at 50 kHz'],
  [3, '精测 TS-9 无线温振传感器', 'JingCe TS-9 Wireless Vibration Sensor', 'vibration_sensor', '振动传感器', 'vibration sensor', 2025, 2400, '电池续航 5 年，支持 LoRa 组网', 'five-year battery life over LoRa'],
  [4, '星河展商通', 'Xinghe ExhibitorHub', 'exhibition_platform', '展会数字化平台', 'exhibition platform', 2022, 30000, '展位预订、观众预登记与线索管理一体化', 'booth booking, visitor pre-registration and lead capture in one place'],
  [4, '星河云展厅', 'Xinghe Virtual Hall', 'virtual_exhibition', '线上展厅', 'virtual exhibition hall', 2023, 45000, '三维展台与直播洽谈', '3D booths and live-streamed meetings'],
  [5, '博远 FL-12000 光纤激光器', 'Boyuan FL-12000 Fibre Laser', 'fiber_laser', '光纤激光器', 'fibre laser', 2023, 320000, '12 千瓦连续输出，电光效率 45%', '12 kW continuous output at 45% wall-plug efficiency'],
  [5, '博远 LC-3015 激光切割机', 'Boyuan LC-3015 Laser Cutter', 'laser_cutter', '激光切割机', 'laser cutting machine', 2024, 580000, '3 米 × 1.5 米幅面，自动调焦', '3 m × 1.5 m bed with auto-focus'],
  [5, '博远手持激光焊', 'Boyuan Handheld Laser Welder', 'laser_welder', '激光焊接机', 'laser welder', 2025, 48000, '焊接速度为氩弧焊的 4 倍', 'welds four times faster than TIG'],
  [6, '蓝鲸 IoT Hub 设备接入平台', 'BlueWhale IoT Hub', 'iot_platform', '工业物联网平台', 'industrial IoT platform', 2021, 200000, '兼容 300 余种工业协议', 'speaks more than 300 industrial protocols'],
  [6, '蓝鲸边缘网关 E3', 'BlueWhale Edge Gateway E3', 'edge_gateway', '边缘网关', 'edge gateway', 2024, 8800, '断网缓存与本地规则引擎', 'offline buffering and a local rules engine'],
  [7, '启明 QV-5M 工业相机', 'Qiming QV-5M Industrial Camera', 'industrial_camera', '工业相机', 'industrial camera', 2023, 7200, '500 万像素全局快门', '5 MP global shutter'],
  [7, '启明 AI 缺陷检测系统', 'Qiming AI Defect Inspection', 'inspection_system', '视觉检测系统', 'visual inspection system', 2024, 260000, '小样本训练，漏检率低于 0.1%', 'few-shot training with under 0.1% escapes'],
  [7, '启明 3D 线激光相机', 'Qiming 3D Line-Laser Camera', '3d_camera', '3D 相机', '3D camera', 2025, 36000, 'Z 向重复精度 1 微米', '1 µm Z repeatability'],
  [8, '众能 H80 燃料电池电堆', 'Zhongneng H80 Fuel-Cell Stack', 'fuel_cell_stack', '燃料电池电堆', 'fuel-cell stack', 2023, 350000, '额定功率 80 千瓦，寿命 2 万小时', '80 kW rated power and 20,000-hour life'],
  [8, '众能 PEM-200 电解槽', 'Zhongneng PEM-200 Electrolyser', 'electrolyser', '电解槽', 'electrolyser', 2025, 4200000, '每小时制氢 200 标方', '200 Nm³ of hydrogen per hour'],
  [9, '天工 VM-5X 五轴加工中心', 'Tiangong VM-5X Five-Axis Centre', 'machining_center', '加工中心', 'machining centre', 2022, 1850000, '五轴联动，定位精度 5 微米', 'simultaneous five-axis, 5 µm positioning'],
  [9, '天工 TG-90 数控系统', 'Tiangong TG-90 CNC Controller', 'cnc_controller', '数控系统', 'CNC controller', 2024, 68000, '国产化率 100%，支持 RTCP', 'fully domestic, with RTCP support'],
  [9, '天工 TL-400 数控车床', 'Tiangong TL-400 CNC Lathe', 'cnc_lathe', '数控车床', 'CNC lathe', 2023, 420000, '最大回转直径 400 毫米', '400 mm maximum swing'],
  [10, '汇通采购云', 'Huitong ProcureCloud', 'procurement_saas', '采购平台', 'procurement platform', 2020, 90000, '寻源、比价到对账全流程在线', 'sourcing, quoting and reconciliation online'],
  [10, '汇通供应商协同门户', 'Huitong Supplier Portal', 'supplier_portal', '供应商门户', 'supplier portal', 2023, 70000, '交期预警与质量追溯', 'delivery alerts and quality traceability'],
  [11, '鼎新 DX-1200 IGBT 模块', 'Dingxin DX-1200 IGBT Module', 'igbt_module', 'IGBT 模块', 'IGBT module', 2023, 1600, '1200V/450A，损耗降低 12%', '1200 V / 450 A with 12% lower losses'],
  [11, '鼎新 SiC-750 碳化硅 MOSFET', 'Dingxin SiC-750 MOSFET', 'sic_mosfet', '碳化硅器件', 'silicon-carbide device', 2025, 380, '导通电阻 13 毫欧', '13 mΩ on-resistance'],
  [12, '锐驰 R6 巡检无人机', 'Ruichi R6 Inspection Drone', 'inspection_drone', '巡检无人机', 'inspection drone', 2024, 128000, '续航 55 分钟，搭载双光吊舱', '55-minute flight with a dual-sensor gimbal'],
  [12, '锐驰 L30 物流无人机', 'Ruichi L30 Cargo Drone', 'cargo_drone', '物流无人机', 'cargo drone', 2025, 260000, '载重 30 公斤，航程 20 公里', '30 kg payload over 20 km'],
  [12, '锐驰机场 D2', 'Ruichi Dock D2', 'drone_dock', '无人机机场', 'drone dock', 2025, 98000, '自动换电，7×24 小时值守', 'automatic battery swap for round-the-clock duty'],
  [13, '中联展会大数据服务', 'Zhonglian Expo Analytics', 'exhibition_analytics', '会展数据服务', 'exhibition analytics', 2023, 55000, '观众画像与展后效果评估', 'visitor profiling and post-show ROI reports'],
  [14, '海川 C&I-215 工商业储能柜', 'Haichuan C&I-215 Cabinet', 'ess_cabinet', '储能柜', 'storage cabinet', 2024, 190000, '215 千瓦时，液冷温控', '215 kWh with liquid cooling'],
  [14, '海川 GridPower 5MWh 集装箱储能', 'Haichuan GridPower 5 MWh Container', 'ess_container', '集装箱储能', 'containerised storage', 2025, 3900000, '单舱 5 兆瓦时，支持构网型控制', '5 MWh per container with grid-forming control'],
  [14, '海川 EMS 能量管理系统', 'Haichuan EMS', 'energy_management', '能量管理系统', 'energy management system', 2023, 80000, '峰谷套利与需量管理策略', 'peak-shaving and demand-charge strategies'],
  [15, '凌云 LY-800 PLC', 'Lingyun LY-800 PLC', 'plc', '可编程控制器', 'PLC', 2022, 5600, '支持 EtherCAT，扫描周期 0.1 毫秒', 'EtherCAT with a 0.1 ms scan cycle'],
  [15, '凌云 VF-7 变频器', 'Lingyun VF-7 Drive', 'vfd', '变频器', 'variable-frequency drive', 2023, 4300, '内置能耗优化算法', 'built-in energy optimisation'],
  [15, '凌云产线数字化套件', 'Lingyun Line Digitalisation Kit', 'line_automation', '产线自动化方案', 'line automation kit', 2025, 350000, '两周完成老旧产线联网', 'connects a legacy line in two weeks'],
  [16, '智行 M600 潜伏式 AMR', 'Zhixing M600 Under-Ride AMR', 'amr', '自主移动机器人', 'autonomous mobile robot', 2023, 98000, '顶升 600 公斤，激光 SLAM 导航', '600 kg lift with laser SLAM navigation'],
  [16, '智行 F15 无人叉车', 'Zhixing F15 Autonomous Forklift', 'autonomous_forklift', '无人叉车', 'autonomous forklift', 2024, 268000, '举升高度 6 米，托盘识别', '6 m lift height with pallet recognition'],
  [16, '智行调度系统 RCS', 'Zhixing RCS Fleet Manager', 'fleet_software', '机器人调度系统', 'robot fleet software', 2022, 120000, '支持 500 台机器人混合调度', 'orchestrates mixed fleets of up to 500 robots'],
  [17, '安泰 SL-4 安全光幕', 'Antai SL-4 Safety Light Curtain', 'safety_light_curtain', '安全光幕', 'safety light curtain', 2022, 3200, '响应时间 8 毫秒，SIL3 认证', '8 ms response time, SIL 3 certified'],
  [17, '安泰防爆巡检终端', 'Antai Ex-Proof Inspection Terminal', 'explosion_proof_device', '防爆终端', 'explosion-proof terminal', 2024, 15800, 'Ex ib IIC T4 防爆等级', 'Ex ib IIC T4 rating'],
  [17, '安泰 SC-10 安全控制器', 'Antai SC-10 Safety Controller', 'safety_controller', '安全控制器', 'safety controller', 2025, 9600, '双通道冗余，支持 PROFIsafe', 'dual-channel redundancy with PROFIsafe support'],
  [18, '华南展会服务包', 'Huanan Exhibitor Service Pack', 'exhibition_service', '展商服务', 'exhibitor services', 2023, 25000, '展位搭建、物流与翻译一站式服务', 'booth build, freight and interpreting in one package'],
  [19, '清源 CEMS-3000 烟气在线监测', 'Qingyuan CEMS-3000', 'emission_monitor', '烟气监测系统', 'emissions monitoring system', 2022, 260000, '二氧化硫、氮氧化物与颗粒物同步监测', 'SO₂, NOx and particulates measured together'],
  [19, '清源水质多参数分析仪', 'Qingyuan Multi-Parameter Water Analyser', 'water_analyzer', '水质分析仪', 'water quality analyser', 2024, 88000, 'COD、氨氮与总磷在线分析', 'online COD, ammonia and total phosphorus'],
  [20, '长风 SV-750 伺服电机', 'Changfeng SV-750 Servo Motor', 'servo_motor', '伺服电机', 'servo motor', 2022, 1900, '23 位绝对值编码器', '23-bit absolute encoder'],
  [20, '长风 SD-2 伺服驱动器', 'Changfeng SD-2 Servo Drive', 'servo_drive', '伺服驱动器', 'servo drive', 2023, 2600, '电流环带宽 3kHz', '3 kHz current-loop bandwidth'],
  [20, '长风一体化关节模组', 'Changfeng Integrated Joint Module', 'joint_module', '关节模组', 'joint module', 2025, 8800, '为人形与协作机器人设计', 'built for humanoid and collaborative robots'],
  [21, '数联 MES 制造执行系统', 'Shulian MES', 'mes', '制造执行系统', 'manufacturing execution system', 2020, 300000, '覆盖排产、质量与设备管理', 'covers scheduling, quality and maintenance'],
  [21, '数联孪生工厂平台', 'Shulian Twin Factory', 'digital_twin', '数字孪生平台', 'digital twin platform', 2024, 480000, '实时三维映射产线状态', 'mirrors line status in real-time 3D'],
  [22, '恒信电池安全检测服务', 'Hengxin Battery Safety Testing', 'battery_testing', '电池检测', 'battery testing', 2021, 35000, '覆盖 GB 38031 与 UN38.3 全项目', 'full GB 38031 and UN38.3 programmes'],
  [22, '恒信 EMC 检测服务', 'Hengxin EMC Testing', 'emc_testing', '电磁兼容检测', 'EMC testing', 2022, 28000, '10 米法暗室，CNAS 认可', 'CNAS-accredited 10 m anechoic chamber'],
  [23, '九章工业大模型 JZ-Industry', 'Jiuzhang JZ-Industry Model', 'industrial_llm', '工业大模型', 'industrial language model', 2025, 600000, '理解设备手册与维修工单', 'understands equipment manuals and work orders'],
  [23, '九章预测性维护平台', 'Jiuzhang Predictive Maintenance', 'predictive_maintenance', '预测性维护', 'predictive maintenance', 2023, 220000, '提前 14 天预警轴承故障', 'flags bearing failures 14 days ahead'],
  [23, '九章能耗优化引擎', 'Jiuzhang Energy Optimiser', 'energy_optimization', '能耗优化', 'energy optimisation', 2024, 150000, '平均节能 8%–12%', 'saves 8–12% energy on average'],
];

export const products: readonly Product[] = PRODUCT_ROWS.map(
  ([ci, name_zh, name_en, category, category_zh, category_en, launch_year, price_cny, fzh, fen], i) => {
    const co = companies[ci];
    return {
      id: `pr-${pad3(i + 1)}`,
      company_id: co.id,
      name_zh,
      name_en,
      category,
      category_zh,
      category_en,
      launch_year,
      price_cny,
      feature_zh: fzh,
      feature_en: fen,
      description_zh: `${name_zh}是${co.name_zh}于${launch_year}年推出的${category_zh}，主要特点：${fzh}。`,
      description_en: `${name_en} is a ${category_en} launched by ${co.name_en} in ${launch_year}, featuring ${fen}.`,
    };
  },
);

// ---------------------------------------------------------------------------------------------
// Exhibitions
// ---------------------------------------------------------------------------------------------

const co = (n: number) => companyId(n - 1); // 1-based company number → id
const pe = (n: number) => personId(n - 1); // 1-based person number → id

export const exhibitions: readonly Exhibition[] = [
  { id: 'ex-001', name_zh: '2025 中国国际工业博览会', name_en: 'China International Industry Fair 2025', city_zh: '上海', city_en: 'Shanghai', venue_zh: '国家会展中心（上海）', venue_en: 'National Exhibition and Convention Center (Shanghai)', start_date: '2025-09-23', end_date: '2025-09-27', organiser_id: co(5), exhibitor_ids: [co(1), co(4), co(6), co(8), co(10), co(12), co(16), co(21)] },
  { id: 'ex-002', name_zh: '2025 亚洲物流双年展', name_en: 'Asia Logistics Biennial 2025', city_zh: '深圳', city_en: 'Shenzhen', venue_zh: '深圳国际会展中心', venue_en: 'Shenzhen World Exhibition & Convention Center', start_date: '2025-11-05', end_date: '2025-11-07', organiser_id: co(19), exhibitor_ids: [co(3), co(11), co(13), co(17), co(7)] },
  { id: 'ex-003', name_zh: '2025 国际储能与电池技术展', name_en: 'International Energy Storage & Battery Expo 2025', city_zh: '厦门', city_en: 'Xiamen', venue_zh: '厦门国际会展中心', venue_en: 'Xiamen International Conference & Exhibition Center', start_date: '2025-10-15', end_date: '2025-10-17', organiser_id: co(14), exhibitor_ids: [co(2), co(15), co(12), co(23), co(9)] },
  { id: 'ex-004', name_zh: '2026 华南国际机器人与自动化展', name_en: 'South China Robotics & Automation Show 2026', city_zh: '广州', city_en: 'Guangzhou', venue_zh: '广交会展馆', venue_en: 'Canton Fair Complex', start_date: '2026-03-10', end_date: '2026-03-12', organiser_id: co(19), exhibitor_ids: [co(1), co(16), co(17), co(21), co(18), co(8)] },
  { id: 'ex-005', name_zh: '2026 北京国际工业互联网大会暨展览会', name_en: 'Beijing Industrial Internet Expo 2026', city_zh: '北京', city_en: 'Beijing', venue_zh: '中国国际展览中心（顺义馆）', venue_en: 'China International Exhibition Center (Shunyi)', start_date: '2026-04-21', end_date: '2026-04-23', organiser_id: co(14), exhibitor_ids: [co(7), co(22), co(24), co(11), co(16)] },
  { id: 'ex-006', name_zh: '2025 武汉光电与激光博览会', name_en: 'Wuhan Optoelectronics & Laser Fair 2025', city_zh: '武汉', city_en: 'Wuhan', venue_zh: '武汉国际博览中心', venue_en: 'Wuhan International Expo Center', start_date: '2025-11-18', end_date: '2025-11-20', organiser_id: co(5), exhibitor_ids: [co(6), co(8), co(4), co(10)] },
  { id: 'ex-007', name_zh: '2026 氢能与燃料电池产业展', name_en: 'Hydrogen & Fuel Cell Industry Expo 2026', city_zh: '广州', city_en: 'Guangzhou', venue_zh: '广州南沙国际会展中心', venue_en: 'Guangzhou Nansha International Expo Center', start_date: '2026-05-12', end_date: '2026-05-14', organiser_id: co(19), exhibitor_ids: [co(9), co(15), co(12), co(23)] },
  { id: 'ex-008', name_zh: '2026 长三角智能制造展', name_en: 'Yangtze River Delta Smart Manufacturing Expo 2026', city_zh: '苏州', city_en: 'Suzhou', venue_zh: '苏州国际博览中心', venue_en: 'Suzhou International Expo Center', start_date: '2026-06-16', end_date: '2026-06-19', organiser_id: co(5), exhibitor_ids: [co(4), co(10), co(16), co(21), co(22), co(18), co(1)] },
  { id: 'ex-009', name_zh: '2026 无人系统与低空经济博览会', name_en: 'Unmanned Systems & Low-Altitude Economy Expo 2026', city_zh: '成都', city_en: 'Chengdu', venue_zh: '中国西部国际博览城', venue_en: 'Western China International Expo City', start_date: '2026-08-25', end_date: '2026-08-27', organiser_id: co(14), exhibitor_ids: [co(13), co(7), co(20), co(24)] },
  { id: 'ex-010', name_zh: '2026 中国国际工业博览会', name_en: 'China International Industry Fair 2026', city_zh: '上海', city_en: 'Shanghai', venue_zh: '国家会展中心（上海）', venue_en: 'National Exhibition and Convention Center (Shanghai)', start_date: '2026-09-22', end_date: '2026-09-26', organiser_id: co(5), exhibitor_ids: [co(1), co(2), co(6), co(8), co(12), co(15), co(16), co(17), co(21), co(24)] },
];

// ---------------------------------------------------------------------------------------------
// Conferences and forums
// ---------------------------------------------------------------------------------------------

export const conferences: readonly Conference[] = [
  { id: 'cf-001', name_zh: '2025 智能制造高峰论坛', name_en: 'Smart Manufacturing Summit 2025', city_zh: '上海', city_en: 'Shanghai', venue_zh: '上海国际会议中心', venue_en: 'Shanghai International Convention Center', date: '2025-09-24', topics_zh: ['协作机器人', '数字孪生', '柔性产线'], topics_en: ['collaborative robots', 'digital twins', 'flexible production lines'], speaker_ids: [pe(1), pe(22), pe(25), pe(16)] },
  { id: 'cf-002', name_zh: '2025 新型储能产业大会', name_en: 'New Energy Storage Industry Conference 2025', city_zh: '厦门', city_en: 'Xiamen', venue_zh: '厦门国际会议中心', venue_en: 'Xiamen International Conference Center', date: '2025-10-16', topics_zh: ['钠离子电池', '构网型储能', '电池安全'], topics_en: ['sodium-ion batteries', 'grid-forming storage', 'battery safety'], speaker_ids: [pe(2), pe(15), pe(23), pe(27)] },
  { id: 'cf-003', name_zh: '2025 智慧物流创新论坛', name_en: 'Smart Logistics Innovation Forum 2025', city_zh: '深圳', city_en: 'Shenzhen', venue_zh: '深圳前海华侨城 JW 万豪酒店', venue_en: 'JW Marriott Shenzhen Qianhai', date: '2025-11-06', topics_zh: ['仓储自动化', '无人配送', '供应链协同'], topics_en: ['warehouse automation', 'autonomous delivery', 'supply-chain collaboration'], speaker_ids: [pe(3), pe(11), pe(17), pe(13)] },
  { id: 'cf-004', name_zh: '2025 工业人工智能开发者大会', name_en: 'Industrial AI Developer Conference 2025', city_zh: '北京', city_en: 'Beijing', venue_zh: '北京国家会议中心', venue_en: 'China National Convention Center', date: '2025-12-09', topics_zh: ['工业大模型', '预测性维护', '视觉检测'], topics_en: ['industrial foundation models', 'predictive maintenance', 'visual inspection'], speaker_ids: [pe(24), pe(8), pe(7), pe(29)] },
  { id: 'cf-005', name_zh: '2026 激光与先进制造论坛', name_en: 'Laser & Advanced Manufacturing Forum 2026', city_zh: '武汉', city_en: 'Wuhan', venue_zh: '武汉光谷科技会展中心', venue_en: 'Optics Valley Convention Center', date: '2026-01-14', topics_zh: ['万瓦级激光切割', '激光焊接', '五轴加工'], topics_en: ['10 kW-class laser cutting', 'laser welding', 'five-axis machining'], speaker_ids: [pe(6), pe(10), pe(4)] },
  { id: 'cf-006', name_zh: '2026 氢能产业发展论坛', name_en: 'Hydrogen Industry Development Forum 2026', city_zh: '广州', city_en: 'Guangzhou', venue_zh: '广州白云国际会议中心', venue_en: 'Guangzhou Baiyun International Convention Center', date: '2026-05-13', topics_zh: ['绿氢制备', '燃料电池重卡', '加氢站'], topics_en: ['green hydrogen production', 'fuel-cell trucks', 'refuelling stations'], speaker_ids: [pe(9), pe(15), pe(33)] },
  { id: 'cf-007', name_zh: '2026 工业互联网安全峰会', name_en: 'Industrial Internet Security Summit 2026', city_zh: '北京', city_en: 'Beijing', venue_zh: '北京国际饭店会议中心', venue_en: 'Beijing International Hotel Convention Center', date: '2026-04-22', topics_zh: ['OT 网络安全', '功能安全', '边缘计算'], topics_en: ['OT cybersecurity', 'functional safety', 'edge computing'], speaker_ids: [pe(7), pe(18), pe(22), pe(31)] },
  { id: 'cf-008', name_zh: '2026 低空经济与无人系统论坛', name_en: 'Low-Altitude Economy & Unmanned Systems Forum 2026', city_zh: '成都', city_en: 'Chengdu', venue_zh: '成都世纪城国际会议中心', venue_en: 'Chengdu Century City International Convention Center', date: '2026-08-26', topics_zh: ['无人机物流', '电力巡检', '空域管理'], topics_en: ['drone logistics', 'power-line inspection', 'airspace management'], speaker_ids: [pe(13), pe(20), pe(37)] },
];

// ---------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------

export const reports: readonly Report[] = [
  { id: 'rp-001', title_zh: '2025 中国协作机器人应用白皮书', title_en: 'China Collaborative Robot Applications White Paper 2025', company_id: co(1), publish_date: '2025-06-18', topic: 'robotics', summary_zh: '报告指出，2024 年协作机器人在 3C 电子与汽车零部件行业的装机量同比增长 34%，中小企业成为主要增量来源。', summary_en: 'The paper finds that cobot installations in electronics and auto-parts plants grew 34% in 2024, with small and mid-sized firms driving most of the growth.' },
  { id: 'rp-002', title_zh: '钠离子电池产业化进展报告', title_en: 'Sodium-Ion Battery Commercialisation Report', company_id: co(2), publish_date: '2025-08-05', topic: 'batteries', summary_zh: '报告认为钠离子电池将在两轮车与低温储能场景率先规模化，2026 年成本有望降至磷酸铁锂的 85%。', summary_en: 'Sodium-ion cells are expected to scale first in two-wheelers and cold-climate storage, reaching about 85% of LFP cost by 2026.' },
  { id: 'rp-003', title_zh: '2025 制造业仓储数字化调研', title_en: 'Manufacturing Warehouse Digitalisation Survey 2025', company_id: co(3), publish_date: '2025-04-22', topic: 'logistics', summary_zh: '在受访的 412 家制造企业中，61% 已部署 WMS，但仅 18% 实现与 MES 的实时联动。', summary_en: 'Of 412 manufacturers surveyed, 61% run a WMS but only 18% link it to their MES in real time.' },
  { id: 'rp-004', title_zh: '工业传感器国产替代趋势报告', title_en: 'Domestic Industrial Sensor Substitution Trends', company_id: co(4), publish_date: '2025-07-10', topic: 'sensors', summary_zh: '国产压力与位移传感器在中端市场份额已超过 45%，高端市场仍以进口为主。', summary_en: 'Domestic pressure and displacement sensors now hold over 45% of the mid-range market, while the high end remains import-dominated.' },
  { id: 'rp-005', title_zh: '2025 中国会展业发展报告', title_en: 'China Exhibition Industry Report 2025', company_id: co(5), publish_date: '2025-03-28', topic: 'exhibitions', summary_zh: '2024 年全国专业展会数量恢复至 2019 年的 108%，工业类展会的海外观众占比回升至 12%。', summary_en: 'Trade fairs in 2024 recovered to 108% of the 2019 count, and overseas visitors at industrial shows rebounded to 12%.' },
  { id: 'rp-006', title_zh: '高功率光纤激光器市场研究', title_en: 'High-Power Fibre Laser Market Study', company_id: co(6), publish_date: '2025-05-16', topic: 'lasers', summary_zh: '万瓦级光纤激光器出货量连续三年增长超过 30%，中厚板切割成为主要应用。', summary_en: 'Shipments of 10 kW-class fibre lasers have grown more than 30% a year for three years, led by thick-plate cutting.' },
  { id: 'rp-007', title_zh: '工业设备联网率调查', title_en: 'Industrial Equipment Connectivity Survey', company_id: co(7), publish_date: '2025-09-02', topic: 'industrial_internet', summary_zh: '规模以上工厂的设备联网率平均为 47%，协议碎片化仍是最大障碍。', summary_en: 'Large factories have connected 47% of their equipment on average; protocol fragmentation remains the main obstacle.' },
  { id: 'rp-008', title_zh: '机器视觉在新能源制造中的应用', title_en: 'Machine Vision in New-Energy Manufacturing', company_id: co(8), publish_date: '2025-10-08', topic: 'machine_vision', summary_zh: '电池极片与焊缝检测是视觉系统增长最快的场景，AI 检测的误判率较传统算法降低 60%。', summary_en: 'Electrode and weld inspection are the fastest-growing vision applications; AI inspection cuts false rejects by 60% versus rule-based methods.' },
  { id: 'rp-009', title_zh: '绿氢成本展望 2025-2030', title_en: 'Green Hydrogen Cost Outlook 2025-2030', company_id: co(9), publish_date: '2025-11-12', topic: 'hydrogen', summary_zh: '随着电解槽价格下降与可再生电价走低，绿氢成本有望在 2030 年降至每公斤 15 元。', summary_en: 'Cheaper electrolysers and renewable power could bring green hydrogen to CNY 15 per kilogram by 2030.' },
  { id: 'rp-010', title_zh: '工商业储能经济性分析', title_en: 'Commercial & Industrial Storage Economics', company_id: co(15), publish_date: '2025-06-30', topic: 'energy_storage', summary_zh: '在峰谷价差超过 0.7 元/千瓦时的省份，工商业储能的投资回收期已缩短至 5 年以内。', summary_en: 'Where the peak–valley spread exceeds CNY 0.7/kWh, C&I storage now pays back in under five years.' },
  { id: 'rp-011', title_zh: '移动机器人行业年度报告', title_en: 'Mobile Robot Industry Annual Report', company_id: co(17), publish_date: '2026-01-20', topic: 'mobile_robots', summary_zh: '2025 年 AMR 出货量约 9.8 万台，无人叉车在汽车与家电工厂渗透最快。', summary_en: 'About 98,000 AMRs shipped in 2025, with autonomous forklifts spreading fastest in auto and appliance plants.' },
  { id: 'rp-012', title_zh: '制造执行系统选型指南', title_en: 'MES Selection Guide', company_id: co(22), publish_date: '2025-12-03', topic: 'industrial_software', summary_zh: '指南建议企业优先评估 MES 与现有 ERP、PLC 的集成能力，而非功能清单长度。', summary_en: 'The guide advises weighing an MES on how well it integrates with existing ERP and PLCs rather than on feature-list length.' },
  { id: 'rp-013', title_zh: '动力电池安全检测年度观察', title_en: 'Annual Review of Traction Battery Safety Testing', company_id: co(23), publish_date: '2026-02-11', topic: 'testing', summary_zh: '新国标实施后，热扩散测试的一次通过率为 72%，较上年提升 9 个百分点。', summary_en: 'Under the new national standard, 72% of packs passed thermal-propagation tests first time, up nine points year on year.' },
  { id: 'rp-014', title_zh: '工业大模型落地实践报告', title_en: 'Industrial Foundation Models in Practice', company_id: co(24), publish_date: '2026-03-05', topic: 'industrial_ai', summary_zh: '调研的 60 个项目中，设备维修问答与工艺文档检索是见效最快的两类应用。', summary_en: 'Across 60 projects studied, maintenance Q&A and process-document search delivered results fastest.' },
  { id: 'rp-015', title_zh: '2026 上半年工业展会观众洞察', title_en: 'Trade-Show Visitor Insights H1 2026', company_id: co(14), publish_date: '2026-07-15', topic: 'exhibitions', summary_zh: '采购决策者占专业观众的 38%，展前线上预约洽谈的转化率是现场随机洽谈的 2.4 倍。', summary_en: 'Purchasing decision-makers made up 38% of trade visitors, and pre-booked meetings converted 2.4 times better than walk-ups.' },
];

// ---------------------------------------------------------------------------------------------
// Lookups
// ---------------------------------------------------------------------------------------------

function indexById<T extends { id: string }>(items: readonly T[]): ReadonlyMap<string, T> {
  return new Map(items.map((x) => [x.id, x]));
}

export const companyById = indexById(companies);
export const personById = indexById(people);
export const productById = indexById(products);
export const exhibitionById = indexById(exhibitions);
export const conferenceById = indexById(conferences);
export const reportById = indexById(reports);

/** Products of one company, in id order. */
export function productsOf(companyIdValue: string): Product[] {
  return products.filter((p) => p.company_id === companyIdValue);
}

/** People of one company, in id order. */
export function peopleOf(companyIdValue: string): Person[] {
  return people.filter((p) => p.company_id === companyIdValue);
}

/** The whole world as one object (handy for serialising). */
export const world = { companies, people, products, exhibitions, conferences, reports } as const;
