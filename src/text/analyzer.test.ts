import Database from 'better-sqlite3';
import fc from 'fast-check';
import OpenCC from 'opencc-js';
import { describe, expect, it } from 'vitest';
import { afterEach } from 'vitest';
import { ANALYZER_DEFAULTS, MAX_STEM_CHARS, analyze, analyzeForFts, ftsQuery, indexTerms, conversionSources, setAnalyzerOptions, toSimplifiedChinese } from './analyzer.ts';

describe('analyze — Chinese', () => {
  it('segments into words: 2-character words are single terms, stopwords dropped', () => {
    expect(analyze('北京的公司发布新产品')).toEqual(['北京', '公司', '发布', '新', '产品']);
  });

  it('maps Traditional (TW and HK forms) and Simplified text to the same terms', () => {
    const simplified = analyze('北京的公司发布新产品，软件卫生');
    expect(analyze('北京的公司發佈新產品，軟件衛生')).toEqual(simplified);
    expect(analyze('北京的公司發佈新產品，軟件衞生')).toEqual(simplified); // HK glyph 衞
    expect(analyze('臺灣的公司')).toEqual(analyze('台湾的公司'));
  });

  it('keeps 著名 but maps Taiwan 著 (particle) to 着', () => {
    expect(toSimplifiedChinese('他看著我')).toBe('他看着我');
    expect(toSimplifiedChinese('著名的公司')).toBe('著名的公司');
  });

  it('emits the sub-words of long words (search mode) for recall', () => {
    const terms = analyze('中华人民共和国');
    expect(terms).toContain('中华人民共和国');
    expect(terms).toContain('人民');
    expect(terms).toContain('共和国');
  });

  it('drops question words and punctuation', () => {
    const terms = analyze('《战国无双3》是由哪两个公司合作开发的？');
    for (const noise of ['哪', '的', '是', '由', '《', '？']) expect(terms).not.toContain(noise);
    expect(terms).toEqual(expect.arrayContaining(['战国', '无双', '3', '公司', '合作', '开发']));
    expect(analyze('什么是怎么回事吗')).not.toContain('什么');
  });

  it('separates digits from Han characters', () => {
    expect(analyze('成立于1949年')).toEqual(['成立', '1949', '年']);
  });
});

describe('analyze — English', () => {
  it('lower-cases, drops stopwords and Porter2-stems', () => {
    expect(analyze('The companies were running')).toEqual(['compani', 'run']);
    expect(analyze('Running')).toEqual(['run']);
  });

  it('splits on non letters/digits and keeps alphanumeric tokens', () => {
    expect(analyze('COVID-19 on 5G networks')).toEqual(['covid', '19', '5g', 'network']);
    expect(analyze("Apple's iPhone 15")).toEqual(['appl', 'iphon', '15']);
  });

  it('strips Latin diacritics and NFKC-normalises full-width input', () => {
    expect(analyze('naïve café')).toEqual(analyze('naive cafe'));
    expect(analyze('ＡＢＣ　１２３')).toEqual(['abc', '123']);
  });

  it('handles mixed Chinese and English', () => {
    expect(analyze('iPhone 15的价格是多少')).toEqual(['iphon', '15', '价格']);
  });

  it('returns no terms for empty, punctuation-only or stopword-only text', () => {
    expect(analyze('')).toEqual([]);
    expect(analyze('?!。，')).toEqual([]);
    expect(analyze('what is the')).toEqual([]);
  });

  it('keeps term frequencies (duplicates)', () => {
    expect(analyze('robot robots robot')).toEqual(['robot', 'robot', 'robot']);
  });

  it('stems words up to MAX_STEM_CHARS letters and keeps longer runs unstemmed (the stemmer is quadratic)', () => {
    // 64 letters ending in "s": stemmed as before, so existing indexes keep matching.
    const atCap = `${'ab'.repeat((MAX_STEM_CHARS - 2) / 2)}xs`;
    expect(atCap).toHaveLength(MAX_STEM_CHARS);
    expect(analyze(atCap)).toEqual([atCap.slice(0, -1)]);
    // One letter more: kept as it is, in the index text and in the query alike.
    const over = `a${atCap}`;
    expect(analyze(over)).toEqual([over]);
    expect(analyzeForFts(`${over} robots`)).toBe(`${over} robot`);
    expect(ftsQuery(over)).toBe(`"${over}"`);
    // A 60,000-letter "word" (a chat message that stalled the server for 24 s) comes back as one
    // unstemmed term; through the stemmer it would run for tens of seconds and lose its "s".
    const huge = `${'a'.repeat(59_999)}s`;
    expect(analyze(huge)).toEqual([huge]);
  });

  it('stops after maxTerms terms', () => {
    expect(analyze('robots run fast through 北京 factories', { maxTerms: 3 })).toEqual(['robot', 'run', 'fast']);
    expect(analyze('one two three', { maxTerms: 100 })).toEqual(['one', 'two', 'three']);
    expect(ftsQuery('alpha beta gamma delta', { maxTerms: 2 })).toBe('"alpha" OR "beta"');
  });
});

describe('analyzeForFts', () => {
  it('joins terms with single spaces and produces only letters/digits', () => {
    const s = analyzeForFts('He said "hello" — AND/OR NOT 北京的"公司"*');
    expect(s).toBe('said hello 北京 公司');
    expect(s).toMatch(/^[\p{L}\p{N} ]*$/u);
  });
});

describe('ftsQuery', () => {
  it('ORs unique double-quoted terms', () => {
    expect(ftsQuery('running runs 北京 北京')).toBe('"run" OR "北京"');
  });

  it('neutralises FTS5 syntax in user input', () => {
    const q = ftsQuery('NEAR(a b) AND "c" OR d* -e ^f');
    expect(q).toBe('"near" OR "b" OR "c" OR "e" OR "f"'); // "a", "d" are stopwords
  });

  it('returns an empty string when nothing is left', () => {
    expect(ftsQuery('')).toBe('');
    expect(ftsQuery('是什么？')).toBe('');
  });
});

describe('FTS5 round trip (same table definition as migration 001)', () => {
  it('indexes analysed text and matches Traditional queries and hostile input without errors', () => {
    const db = new Database(':memory:');
    try {
      db.exec("CREATE VIRTUAL TABLE chunks_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 2')");
      const insert = db.prepare('INSERT INTO chunks_fts(rowid, terms) VALUES (?, ?)');
      insert.run(1, analyzeForFts('北京的软件公司发布新产品'));
      insert.run(2, analyzeForFts('The companies were running new robot factories.'));
      insert.run(3, analyzeForFts('市气象台发布暴雨预警'));
      const search = db.prepare('SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts)');
      const ids = (q: string): number[] => search.all(ftsQuery(q)).map((r) => (r as { rowid: number }).rowid);
      expect(ids('哪家軟件公司發佈了新產品？')[0]).toBe(1);
      expect(ids('company running robots')).toEqual([2]);
      expect(ids('"unbalanced quote AND ( NEAR* robot')).toEqual([2]);
      expect(ftsQuery('的？')).toBe(''); // nothing to match: callers skip the lexical leg
    } finally {
      db.close();
    }
  });
});

describe('analysis options (experiments; the product runs ANALYZER_DEFAULTS)', () => {
  afterEach(() => setAnalyzerOptions(ANALYZER_DEFAULTS));

  it('HMM off splits a word the dictionary lacks into characters instead of guessing it', () => {
    // 锐驰 is an invented company name: not in jieba's dictionary.
    setAnalyzerOptions({ hmm: true });
    const guessed = analyze('锐驰发布无人机');
    setAnalyzerOptions({ hmm: false });
    const split = analyze('锐驰发布无人机');
    expect(split).toEqual(expect.arrayContaining(['锐', '驰', '无人机']));
    expect(guessed).not.toEqual(split);
  });

  it('OOV bigrams join adjacent single characters, so a query for the unknown name matches it as a unit', () => {
    setAnalyzerOptions({ hmm: false, oovBigrams: true });
    expect(analyze('锐驰发布无人机')).toEqual(expect.arrayContaining(['锐', '驰', '锐驰', '无人机']));
    expect(analyze('无人机')).not.toContain('无人'.slice(0, 1) + '机'); // known words add no bigrams
  });

  it('title weight repeats the title terms; stemming and English stopwords can be turned off', () => {
    expect(indexTerms('Solar', 'panels')).toBe('solar panel');
    setAnalyzerOptions({ titleWeight: 3 });
    expect(indexTerms('Solar', 'panels')).toBe('solar solar solar panel');
    expect(indexTerms('', 'panels')).toBe('panel');
    setAnalyzerOptions({ titleWeight: 1, stem: false, englishStopwords: false });
    expect(analyze('The panels')).toEqual(['the', 'panels']);
  });
});

describe('conversionSources', () => {
  it('names, for every character the conversion outputs, an input character that produced it', () => {
    // Characters from the conversion tables themselves (both sides of entries) plus common ones.
    const configs = OpenCC.Locale.configs as unknown as Record<string, { conversionChain: readonly (readonly unknown[])[] }>;
    const pool = new Set<string>('的是在了北京公司发展数据库');
    for (const name of ['hk2s', 'tw2s']) {
      for (const group of configs[name].conversionChain) {
        for (const dict of group) {
          if (typeof dict !== 'string') continue;
          for (const entry of dict.split('|').slice(0, 400)) for (const ch of entry) if (ch !== ' ') pool.add(ch);
        }
      }
    }
    const chars = [...pool];
    expect(chars.length).toBeGreaterThan(500);
    expect(conversionSources('着')).toContain('著');
    expect(conversionSources('卫')).toEqual(expect.arrayContaining(['衛', '衞']));
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...chars), { minLength: 1, maxLength: 30 }), (parts) => {
        const input = parts.join('');
        const inputChars = new Set(input);
        for (const ch of new Set(toSimplifiedChinese(input))) {
          if (inputChars.has(ch)) continue;
          expect(conversionSources(ch).some((src) => inputChars.has(src)), `${ch} in the conversion of ${input}`).toBe(true);
        }
      }),
      { numRuns: 1500, seed: 3 },
    );
  });
});

