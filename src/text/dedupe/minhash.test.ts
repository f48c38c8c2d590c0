import { describe, expect, it } from 'vitest';
import {
  bandHashes,
  estimateJaccard,
  exactJaccard,
  MinHasher,
  murmur3,
  shingles,
  signatureFromBuffer,
  signatureToBuffer,
} from './minhash.ts';

// Default production settings (config/default.yaml: dedupe).
const hasher = new MinHasher({ num_perm: 128, shingle_size: 5 });
const BANDS = 32;

const ARTICLE_EN = `Harbor Robotics said on Tuesday that it would open a second assembly plant near Rotterdam, doubling its production of warehouse robots by the end of next year.
The company, founded in 2016 by two former logistics engineers, makes autonomous carts that move pallets between loading docks and storage racks without human drivers.
Chief executive Lena Voss told reporters that orders from European grocery chains had grown faster than expected, and that the existing factory in Eindhoven was already running three shifts a day.
The new plant will cost about 140 million euros and employ roughly 600 people when it reaches full capacity, according to a filing with the Dutch chamber of commerce.
Analysts at several banks said the expansion showed that demand for warehouse automation remained strong despite higher interest rates, which have slowed spending on other kinds of industrial equipment.
Harbor Robotics competes with larger American and Chinese suppliers, but it has won contracts by offering software that lets older warehouses adopt robots without rebuilding their floors.
The company also said it had signed a supply agreement with a battery maker in Poland, securing cells for its next generation of carts, which are designed to run for a full day on a single charge.
Revenue rose 38 percent last year to 212 million euros, and the company expects to turn a profit for the first time in the current fiscal year.
Shares of the privately held firm are not traded, but people familiar with the matter said investors were considering a listing in Amsterdam as early as next spring.`;

// The same story as republished by another outlet: new headline, one sentence reworded.
const SYNDICATED_EN = `${'Dutch robot maker to double output with new plant'}
${ARTICLE_EN.replace(
  'Chief executive Lena Voss told reporters that orders from European grocery chains had grown faster than expected',
  'Lena Voss, the chief executive, said orders from grocers across Europe had grown faster than planned',
)}`;

const ARTICLE_EN_HEADED = `Harbor Robotics plans second factory\n${ARTICLE_EN}`;

const UNRELATED_EN = `The city council voted late on Monday to extend the downtown tram line by four kilometres, ending a debate that had lasted nearly two years.
Supporters argued that the extension would relieve traffic on the main bridge and connect the new hospital to the central railway station.
Opponents, including several shop owners along the proposed route, warned that construction would disrupt business for months and questioned the projected ridership figures.
The project is expected to cost 95 million and will be financed partly by a regional transport fund and partly by a surcharge on parking permits.
Work on the first section could begin in the autumn, the mayor said, once the environmental review is complete and the contracts have been tendered.
Residents will be able to comment on the detailed plans at a series of public meetings in the spring.`;

const ARTICLE_ZH = `星河科技周二宣布，将在苏州新建一座智能制造工厂，预计总投资约二十亿元，建成后年产能将达到五十万台工业机器人。
公司董事长王立新在发布会上表示，近两年来自汽车和电子行业的订单增长明显，现有的深圳工厂已经满负荷运转。
新工厂计划于明年年底投产，届时将新增就业岗位约三千个，并配套建设研发中心和培训基地。
分析人士认为，随着制造业转型升级加快，国内工业机器人市场仍有较大增长空间，但价格竞争也日趋激烈。
星河科技去年营业收入同比增长百分之四十二，净利润首次突破五亿元，海外市场收入占比提升至三成左右。
公司还透露，正在与多家欧洲企业洽谈合作，计划在未来三年内进入德国和意大利市场。`;

// Another outlet's copy of the body (headlines are stored as titles, not hashed): one sentence
// reworded.
const SYNDICATED_ZH = ARTICLE_ZH.replace('分析人士认为，随着制造业', '业内专家指出，伴随制造业');

const UNRELATED_ZH = `市气象台昨日发布暴雨蓝色预警，预计今天夜间到明天白天，全市大部分地区将出现中到大雨，局部地区有暴雨。
交通部门提醒市民，雨天出行注意安全，尽量避开低洼路段和地下通道，驾车时减速慢行并保持安全车距。
教育部门要求各中小学做好防汛准备，必要时可调整上下学时间，确保学生安全。
此次降雨过程将持续到周末，届时气温将明显下降，最高气温在二十度左右。`;

function sharedBands(a: string, b: string): number {
  const ba = bandHashes(hasher.signature(a), BANDS);
  const bb = bandHashes(hasher.signature(b), BANDS);
  return ba.filter((h, i) => h === bb[i]).length;
}

describe('shingles', () => {
  it('ignores whitespace and case, and keeps short texts as one shingle', () => {
    expect(shingles('Ab c\nD', 3)).toEqual(new Set(['abc', 'bcd']));
    expect(shingles('北京', 5)).toEqual(new Set(['北京']));
    expect(shingles(' \n ', 5).size).toBe(0);
  });
  it('counts code points, not UTF-16 units', () => {
    expect(shingles('😀😀x', 2)).toEqual(new Set(['😀😀', '😀x']));
  });
  it('rejects a non-positive shingle size', () => {
    expect(() => shingles('abc', 0)).toThrow(/positive integer/);
  });
});

describe('MinHasher', () => {
  it('is deterministic and gives identical texts similarity 1', () => {
    const a = hasher.signature(ARTICLE_EN);
    const b = new MinHasher({ num_perm: 128, shingle_size: 5 }).signature(ARTICLE_EN);
    expect(a).toHaveLength(128);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(estimateJaccard(a, b)).toBe(1);
  });

  it('treats re-spaced / re-wrapped copies as identical', () => {
    const rewrapped = ARTICLE_EN.replace(/\n/g, '\n\n').replace(/ /g, '  ');
    expect(estimateJaccard(hasher.signature(ARTICLE_EN), hasher.signature(rewrapped))).toBe(1);
  });

  it.each([
    ['English', ARTICLE_EN_HEADED, SYNDICATED_EN],
    ['Chinese', ARTICLE_ZH, SYNDICATED_ZH],
  ])('scores a syndicated %s copy (new headline and/or one sentence changed) as a near duplicate', (_lang, a, b) => {
    expect(exactJaccard(a, b, 5)).toBeGreaterThan(0.85);
    expect(exactJaccard(a, b, 5)).toBeLessThan(1);
    const est = estimateJaccard(hasher.signature(a), hasher.signature(b));
    expect(est).toBeGreaterThanOrEqual(0.85);
    expect(est).toBeLessThan(1);
    expect(sharedBands(a, b)).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['English', ARTICLE_EN, UNRELATED_EN],
    ['Chinese', ARTICLE_ZH, UNRELATED_ZH],
    ['cross-language', ARTICLE_EN, ARTICLE_ZH],
  ])('scores unrelated %s articles low with no shared band', (_lang, a, b) => {
    const est = estimateJaccard(hasher.signature(a), hasher.signature(b));
    expect(est).toBeLessThan(0.1);
    expect(Math.abs(est - exactJaccard(a, b, 5))).toBeLessThan(0.1);
    expect(sharedBands(a, b)).toBe(0);
  });

  it('depends on the seed', () => {
    const other = new MinHasher({ num_perm: 128, shingle_size: 5, seed: 7 });
    expect(Array.from(other.signature(ARTICLE_EN))).not.toEqual(Array.from(hasher.signature(ARTICLE_EN)));
  });

  it('rejects invalid settings', () => {
    expect(() => new MinHasher({ num_perm: 0, shingle_size: 5 })).toThrow(/num_perm/);
    expect(() => new MinHasher({ num_perm: 8, shingle_size: 1.5 })).toThrow(/shingle_size/);
  });
});

describe('estimateJaccard', () => {
  it('rejects signatures of different lengths', () => {
    expect(() => estimateJaccard(new Uint32Array(4), new Uint32Array(8))).toThrow(/num_perm/);
  });
});

describe('bandHashes', () => {
  it('returns one unsigned 32-bit bucket per band', () => {
    const bands = bandHashes(hasher.signature(ARTICLE_ZH), BANDS);
    expect(bands).toHaveLength(BANDS);
    for (const h of bands) {
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 32);
    }
  });
  it('gives equal rows in different bands different buckets', () => {
    const bands = bandHashes(new Uint32Array(8).fill(42), 4);
    expect(new Set(bands).size).toBe(4);
  });
  it('rejects a band count that does not divide the signature', () => {
    expect(() => bandHashes(new Uint32Array(128), 30)).toThrow(/divisor/);
  });
});

describe('signature BLOB round trip', () => {
  it('round-trips through little-endian bytes', () => {
    const sig = hasher.signature(ARTICLE_EN);
    const buf = signatureToBuffer(sig);
    expect(buf.byteLength).toBe(512);
    expect(Array.from(signatureFromBuffer(buf))).toEqual(Array.from(sig));
    // A Buffer slice with a non-zero byteOffset (as better-sqlite3 may return) also works.
    const padded = Buffer.concat([Buffer.from([9, 9, 9]), buf]).subarray(3);
    expect(Array.from(signatureFromBuffer(padded))).toEqual(Array.from(sig));
  });
  it('rejects a truncated BLOB', () => {
    expect(() => signatureFromBuffer(new Uint8Array(6))).toThrow(/multiple of 4/);
  });
});

describe('murmur3', () => {
  it('equals reference murmur3_x86_32 over the UTF-16LE bytes', () => {
    // Published test vectors (bytes "", 00000000, "aaaa") expressed as UTF-16 code units, plus
    // values from an independent byte-level implementation for CJK and an odd-length tail.
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('\u0000\u0000', 0)).toBe(0x2362f9de);
    expect(murmur3('\u6161\u6161', 0x9747b28c)).toBe(0x5a97808a);
    expect(murmur3('北京')).toBe(2782663696);
    expect(murmur3('abcde')).toBe(4169864825);
  });
});
