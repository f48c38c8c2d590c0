import { describe, expect, it } from 'vitest';
import {
  companies, people, products, exhibitions, conferences, reports,
  companyById, personById, createRng, pick, shuffle, sample, deriveSeed, randInt, PERSON_PII_FIELDS,
} from './world.ts';

describe('demo world', () => {
  it('has the planned sizes and unique ids', () => {
    expect(companies.length).toBe(24);
    expect(people.length).toBe(60);
    expect(products.length).toBe(60);
    expect(exhibitions.length).toBe(10);
    expect(conferences.length).toBe(8);
    expect(reports.length).toBe(15);
    const all = [...companies, ...people, ...products, ...exhibitions, ...conferences, ...reports].map((x) => x.id);
    expect(new Set(all).size).toBe(all.length);
    expect(companies[0].id).toBe('co-001');
    expect(people[59].id).toBe('p-060');
  });

  it('keeps every cross-reference consistent', () => {
    for (const c of companies) {
      const ceo = personById.get(c.ceo_id);
      expect(ceo?.company_id, c.id).toBe(c.id);
      expect(ceo?.title_en).toBe('Chief Executive Officer');
    }
    for (const p of people) {
      const c = companyById.get(p.company_id);
      expect(c, p.id).toBeDefined();
      expect(c!.website.endsWith(p.email.split('@')[1])).toBe(true);
    }
    for (const p of products) expect(companyById.has(p.company_id), p.id).toBe(true);
    for (const e of exhibitions) {
      expect(companyById.get(e.organiser_id)?.industry, e.id).toBe('exhibitions');
      for (const x of e.exhibitor_ids) expect(companyById.has(x), `${e.id} ${x}`).toBe(true);
      expect(e.start_date <= e.end_date).toBe(true);
      expect(e.start_date >= '2025-01-01' && e.end_date <= '2026-12-31').toBe(true);
    }
    for (const c of conferences) {
      for (const s of c.speaker_ids) expect(personById.has(s), `${c.id} ${s}`).toBe(true);
      expect(c.topics_zh.length).toBe(c.topics_en.length);
    }
    for (const r of reports) expect(companyById.has(r.company_id), r.id).toBe(true);
    // Every company has at least one product and one person; names are unique.
    for (const c of companies) expect(products.some((p) => p.company_id === c.id), c.id).toBe(true);
    expect(new Set(people.map((p) => p.name_zh)).size).toBe(people.length);
    expect(new Set(people.map((p) => p.email)).size).toBe(people.length);
    expect(PERSON_PII_FIELDS).toEqual(['email', 'phone']);
  });

  it('PRNG is deterministic and seed-sensitive', () => {
    const a = createRng(42), b = createRng(42), c = createRng(43);
    const sa = Array.from({ length: 5 }, a), sb = Array.from({ length: 5 }, b), sc = Array.from({ length: 5 }, c);
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    for (const x of sa) expect(x >= 0 && x < 1).toBe(true);
    expect(deriveSeed(1, 'news')).not.toBe(deriveSeed(1, 'posts'));
  });

  it('helpers behave', () => {
    const rng = createRng(7);
    const arr = [1, 2, 3, 4, 5, 6];
    const s = shuffle(rng, arr);
    expect([...s].sort()).toEqual(arr);
    expect(arr).toEqual([1, 2, 3, 4, 5, 6]);
    expect(arr).toContain(pick(rng, arr));
    expect(() => pick(rng, [])).toThrow(/empty/);
    expect(new Set(sample(rng, arr, 3)).size).toBe(3);
    for (let i = 0; i < 100; i++) {
      const n = randInt(rng, 2, 4);
      expect(n >= 2 && n <= 4).toBe(true);
    }
  });
});
