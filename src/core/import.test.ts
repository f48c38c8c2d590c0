import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.ts';
import { openStore, type DB } from '../store/index.ts';
import { generateDemoCore } from './demo.ts';
import { importCoreFile } from './import.ts';
import { loadEntities } from './store.ts';

const core = loadConfig({ env: {} }).core;
let dir: string;
let db: DB;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-core-'));
  db = openStore(':memory:');
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const write = (name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
const quarantine = () =>
  db.prepare('SELECT locator, reason, detail FROM core_quarantine ORDER BY id').all() as { locator: string; reason: string; detail: string }[];

describe('importCoreFile', () => {
  it('imports good JSONL rows and quarantines each malformed one with its reason and line', () => {
    const file = write(
      'companies.jsonl',
      [
        JSON.stringify({ id: 'c1', name_en: 'Acme', name_zh: '艾克米', founded: 2001, employees: '120', website: 'https://acme.example' }),
        '{"id": "c2", "name_en": "Broken',
        JSON.stringify({ name_en: 'No Key' }),
        JSON.stringify({ id: 'c3', name_en: 'Bad Year', founded: 'nineteen' }),
        JSON.stringify({ id: 'c4', founded: 1999 }),
        JSON.stringify({ id: 'c1', name_en: 'Acme again' }),
        JSON.stringify(['not', 'an', 'object']),
        JSON.stringify({ id: 'c5', name_en: 'Bad site', website: 'ftp:/x' }),
        JSON.stringify({ id: 'c6', name_en: 'Extra', shoe_size: 42 }),
      ].join('\n'),
    );
    const r = importCoreFile(db, core, { file, type: 'company' });
    expect(r).toMatchObject({ rows: 9, inserted: 2, quarantined: 7, unknown_columns: ['shoe_size'] });
    expect(r.quarantine_reasons).toEqual({ invalid_json: 1, missing_key: 1, bad_value: 2, missing_required: 1, duplicate_key: 1, not_an_object: 1 });
    const q = quarantine();
    expect(q.map((x) => x.locator)).toEqual(['companies.jsonl:2', 'companies.jsonl:3', 'companies.jsonl:4', 'companies.jsonl:5', 'companies.jsonl:6', 'companies.jsonl:7', 'companies.jsonl:8']);
    expect(q[2].detail).toContain('founded');
    const stored = loadEntities(db, core).get('company')!;
    expect(stored.map((e) => e.key)).toEqual(['c1', 'c6']);
    // Coerced to the schema's types; the first c1 row won over its duplicate.
    expect(stored[0].data).toMatchObject({ name_en: 'Acme', employees: 120, founded: 2001 });
    expect(stored[1].data).not.toHaveProperty('shoe_size');
  });

  it('reads CSV (quoted cells, list separator) and quarantines rows with the wrong column count', () => {
    const file = write(
      'ex.csv',
      'id,name_en,start_date,exhibitor_ids\nex1,"Fair, 2025",2025-09-01,c1|c2\nex2,Short\nex3,Bad date,2025-02-30,c1\n',
    );
    const r = importCoreFile(db, core, { file, type: 'exhibition' });
    expect(r).toMatchObject({ inserted: 1, quarantined: 2, quarantine_reasons: { malformed_row: 1, bad_value: 1 } });
    expect(loadEntities(db, core).get('exhibition')![0].data).toMatchObject({ name_en: 'Fair, 2025', exhibitor_ids: ['c1', 'c2'] });
  });

  it('rejects a .json file that is not an array as a whole', () => {
    const file = write('p.json', '{"id": "p1"}');
    const r = importCoreFile(db, core, { file, type: 'person' });
    expect(r.quarantined).toBe(1);
    expect(quarantine()[0].detail).toMatch(/array/);
  });

  it('reports references to records that do not exist, and clears them once the target arrives', () => {
    const products = write('pr.jsonl', JSON.stringify({ id: 'pr1', name_en: 'Widget', company_id: 'ghost' }) + '\n');
    const r = importCoreFile(db, core, { file: products, type: 'product' });
    expect(r.inserted).toBe(1); // kept: the company may be imported later
    expect(r.broken_references.count).toBe(1);
    expect(r.broken_references.items[0]).toMatchObject({ relation: 'product_company', key: 'pr1', target: 'ghost', targetType: 'company' });
    const companies = write('co.jsonl', JSON.stringify({ id: 'ghost', name_en: 'Ghost Ltd' }) + '\n');
    expect(importCoreFile(db, core, { file: companies, type: 'company' }).broken_references.count).toBe(0);
  });

  it('counts unchanged rows on re-import and deletes absent records only in replace mode', () => {
    const a = write('a.jsonl', [{ id: 'c1', name_en: 'A' }, { id: 'c2', name_en: 'B' }].map((x) => JSON.stringify(x)).join('\n'));
    importCoreFile(db, core, { file: a, type: 'company' });
    const b = write('b.jsonl', JSON.stringify({ id: 'c1', name_en: 'A' }));
    expect(importCoreFile(db, core, { file: b, type: 'company' })).toMatchObject({ unchanged: 1, deleted: 0 });
    expect(importCoreFile(db, core, { file: b, type: 'company', mode: 'replace' })).toMatchObject({ unchanged: 1, deleted: 1 });
    expect(loadEntities(db, core).get('company')!.map((e) => e.key)).toEqual(['c1']);
  });

  it('throws on an unknown type', () => {
    const f = write('x.jsonl', '{}');
    expect(() => importCoreFile(db, core, { file: f, type: 'spaceship' })).toThrow(/unknown core type/);
  });

  it('names the file and what is wrong with it, not a raw ENOENT', () => {
    const missing = path.join(dir, 'nope.csv');
    expect(() => importCoreFile(db, core, { file: missing, type: 'company' })).toThrow(`records file ${missing} does not exist`);
    expect(() => importCoreFile(db, core, { file: dir, type: 'company', format: 'csv' })).toThrow(`records file ${dir} is a folder, not a file`);
  });
});

describe('demo core world', () => {
  it('writes all three formats and imports every record with no quarantine and no broken reference', () => {
    const res = generateDemoCore(db, core, dir);
    expect(new Set(res.files.map((f) => f.format))).toEqual(new Set(['csv', 'jsonl', 'json']));
    for (const imp of res.imports) expect(imp.quarantined, `${imp.type}: ${JSON.stringify(imp.quarantine_reasons)}`).toBe(0);
    expect(res.broken_references).toEqual([]);
    const entities = loadEntities(db, core);
    expect(entities.get('company')!.length).toBeGreaterThan(10);
    expect(entities.get('person')![0].data).toHaveProperty('email');
    expect(entities.get('conference')![0].data.topics_en).toBeInstanceOf(Array);
  });
});
