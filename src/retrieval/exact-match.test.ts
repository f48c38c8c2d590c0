import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactMatch as match, exactQuery, normalForm, passageForms, type ExactQuery } from './exact-match.ts';

const exactMatch = (q: ExactQuery, title: string, text: string) => match(q, passageForms(title, text));

describe('exact title / phrase match', () => {
  it('normalises width, case, punctuation and Traditional Chinese', () => {
    expect(normalForm('锐驰无人机牵手华科智能，共建工业无人机联合方案')).toBe('锐驰无人机牵手华科智能共建工业无人机联合方案');
    expect(normalForm('銳馳無人機')).toBe('锐驰无人机');
    expect(normalForm('Ｈello,  World!')).toBe('helloworld');
  });

  it("matches the document whose title is the query, whatever the punctuation", () => {
    const q = exactQuery('锐驰无人机牵手华科智能 共建工业无人机联合方案', 8);
    expect(exactMatch(q, '锐驰无人机牵手华科智能，共建工业无人机联合方案', 'body')).toBe('title');
    expect(exactMatch(q, '锐驰无人机', 'body')).toBeNull();
    // A comment quoting the title verbatim is a phrase match, ranked after the title match.
    expect(exactMatch(q, '网友评论', '看到《锐驰无人机牵手华科智能，共建工业无人机联合方案》这条新闻')).toBe('phrase');
  });

  it('uses quoted phrases, and the whole query only when it is long enough', () => {
    const quoted = exactQuery('reports on "interest rates" and inflation', 100);
    expect(quoted.phrases).toEqual(['interestrates']);
    expect(exactMatch(quoted, 'Fed', 'The Fed held interest rates steady.')).toBe('phrase');
    expect(exactMatch(quoted, 'Fed', 'The Fed held rates steady.')).toBeNull();
    const short = exactQuery('solar', 8);
    expect(short.phrases).toEqual([]);
    expect(exactMatch(short, 'Wind', 'solar and wind')).toBeNull();
    expect(exactMatch(short, 'Solar', 'anything')).toBe('title');
    expect(exactMatch(exactQuery('...', 8), '', '')).toBeNull();
  });

  it('finds a phrase in Traditional text, and gives what converting every passage gives', () => {
    const q = exactQuery('数据库管理系统的发展', 4);
    expect(exactMatch(q, '资讯', '這套數據庫管理系統的發展很快')).toBe('phrase');
    expect(exactMatch(q, '资讯', '这套数据库管理系统的发展很快')).toBe('phrase');
    expect(exactMatch(q, '资讯', '這套資料庫系統')).toBeNull();
    // The eager reference: convert title and text, then look.
    const eager = (query: ExactQuery, title: string, text: string) => {
      if (query.whole.length === 0) return null;
      if (normalForm(title).length >= 2 && normalForm(title) === query.whole) return 'title';
      if (query.phrases.length === 0) return null;
      return query.phrases.every((p) => normalForm(title).includes(p) || normalForm(text).includes(p)) ? 'phrase' : null;
    };
    // Phrases and passages from the same small mixed alphabet (Simplified, Traditional and HK
    // forms of the same words, Latin, punctuation) so that matches happen often.
    const words = ['数据', '數據', '数据库', '資料庫', '系统', '系統', '發展', '发展', '著名', '看著', '看着', '衞生', '卫生', '乾淨', '干净', '幹部', '干部', 'MES', 'mes', '，', ' ', '《', '》'];
    const text = fc.array(fc.constantFrom(...words), { maxLength: 12 }).map((w) => w.join(''));
    fc.assert(
      fc.property(text, text, text, (query, title, body) => {
        const eq = exactQuery(query, 2);
        expect(exactMatch(eq, title, body)).toBe(eager(eq, title, body));
        const quoted = exactQuery(`"${query}"`, 2);
        expect(exactMatch(quoted, title, body)).toBe(eager(quoted, title, body));
      }),
      { numRuns: 2000, seed: 5 },
    );
  });
});

