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
});
