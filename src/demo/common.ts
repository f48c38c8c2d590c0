// Small helpers shared by the demo document generators: dates, number formatting, invented
// bylines and outlets. Deterministic: everything random takes an Rng.

import { pick, randInt, type Rng } from './world.ts';

export type Lang = 'zh' | 'en';

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 for a `YYYY-MM-DD` date (UTC). */
export function dayNumber(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return Math.floor(Date.UTC(y, m - 1, d) / DAY_MS);
}

/** `YYYY-MM-DD` for a day number. */
export function dayString(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return dayString(dayNumber(date) + days);
}

/** A random day in [from, to] (inclusive, `YYYY-MM-DD`). */
export function randomDay(rng: Rng, from: string, to: string): string {
  return dayString(randInt(rng, dayNumber(from), dayNumber(to)));
}

/** Local Beijing time of day during working hours, as [hour, minute]. */
function officeTime(rng: Rng): [number, number] {
  return [randInt(rng, 7, 21), randInt(rng, 0, 11) * 5];
}

const p2 = (n: number) => String(n).padStart(2, '0');

/**
 * An ISO 8601 timestamp on `day` at a Beijing office hour, written either with a +08:00 offset or
 * converted to UTC `Z` (sources mix both; both parse to the same instant).
 */
export function isoTimestamp(rng: Rng, day: string): string {
  const [h, mi] = officeTime(rng);
  if (rng() < 0.5) return `${day}T${p2(h)}:${p2(mi)}:00+08:00`;
  const utc = new Date(dayNumber(day) * DAY_MS + (h - 8) * 3_600_000 + mi * 60_000);
  return utc.toISOString().replace('.000Z', 'Z');
}

/** `YYYY/MM/DD HH:mm` (forum exports use this form; read as UTC). */
export function slashTimestamp(rng: Rng, day: string): string {
  const [h, mi] = officeTime(rng);
  return `${day.replace(/-/g, '/')} ${p2(h)}:${p2(mi)}`;
}

/** 12345678 → "12,345,678". */
export function thousands(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** One decimal place, without a trailing ".0". */
export function oneDecimal(n: number): string {
  const s = n.toFixed(1);
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

/** A price in CNY, formatted for the language ("16.8万元" / "CNY 168,000"). */
export function priceText(cny: number, lang: Lang): string {
  if (lang === 'en') return `CNY ${thousands(cny)}`;
  return cny >= 10_000 ? `${oneDecimal(cny / 10_000)}万元` : `${thousands(cny)}元`;
}

// Invented journalists (not in the people list: they report on the world, they are not in it).
const WRITERS_ZH = ['王磊', '李娜', '赵晨', '孙悦', '陈思', '刘洋', '周倩', '吴昊', '郑楠', '黄蕾', '高峰', '林静', '何畅', '罗琳'];
const WRITERS_EN = ['Emma Zhou', 'Daniel Li', 'Grace Wang', 'Oliver Chen', 'Sophie Liu', 'Ethan Xu', 'Chloe Sun', 'Lucas Huang', 'Mia Zhao', 'Ryan Lin'];

export function writer(rng: Rng, lang: Lang): string {
  return lang === 'zh' ? pick(rng, WRITERS_ZH) : pick(rng, WRITERS_EN);
}

/** Invented outlets on example.com (reserved for documentation, never a real site). */
export const OUTLETS: readonly { host: string; name_zh: string; name_en: string }[] = [
  { host: 'industry-daily.example.com', name_zh: '工业日报', name_en: 'Industry Daily' },
  { host: 'smartmfg.example.com', name_zh: '智造观察', name_en: 'Smart Manufacturing Observer' },
  { host: 'tradeshow-weekly.example.com', name_zh: '会展周刊', name_en: 'Trade Show Weekly' },
  { host: 'energy-tech.example.com', name_zh: '能源科技网', name_en: 'Energy Tech News' },
  { host: 'robot-review.example.com', name_zh: '机器人评论', name_en: 'Robotics Review' },
  { host: 'supplychain.example.com', name_zh: '供应链时报', name_en: 'Supply Chain Times' },
];

/** Escapes text for HTML element content. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "厦门" + "厦门国际会议中心" reads as one place name, not "厦门厦门国际会议中心". */
export function zhPlace(city: string, venue: string): string {
  return venue.startsWith(city) ? venue : `${city}${venue}`;
}
