import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAcl } from './acl.ts';
import { CsvReader } from './csv.ts';
import { FolderReader } from './folder.ts';
import { mapRecord } from './mapping.ts';
import { collect, sourceConfig, tempDir } from './test-helpers.ts';

const src = (acl_groups: string[] = [], mapping: Record<string, string> = { acl_groups: 'visibility' }) => sourceConfig({ acl_groups, mapping });
const map = (rec: Record<string, unknown>, groups: string[] = []) => mapRecord({ id: 'r1', body: 'Body text here.', ...rec }, src(groups), 'f:1');

describe('record ACL groups', () => {
  it('a record\'s own groups replace the source default, never merge with it', () => {
    const item = map({ visibility: ['exec'] }, ['hr']);
    expect(item.ok && item.record.aclGroups).toEqual(['exec']);
    const str = map({ visibility: 'exec; board' }, ['hr']);
    expect(str.ok && str.record.aclGroups).toEqual(['exec', 'board']);
  });

  it('an absent field takes the source default', () => {
    const item = map({}, ['hr']);
    expect(item.ok && item.record.aclGroups).toEqual(['hr']);
    const open = map({}, []);
    expect(open.ok && open.record.aclGroups).toEqual([]);
  });

  const invalid: Array<[string, unknown]> = [
    ['null', null],
    ['[null]', [null]],
    ['[""]', ['']],
    ['["  "]', ['  ']],
    ['[]', []],
    ['""', ''],
    ['whitespace', '   '],
    ['"exec,"', 'exec,'],
    ['"a;;b"', 'a;;b'],
    ['a number', 7],
    ['a boolean', true],
    ['an object', { groups: ['exec'] }],
    ['a non-string item', ['exec', 5]],
    ['a nested list', [['exec']]],
    ['a space in a name', ['sales team']],
    ['a JSON "[]" string', '[]'],
    ['a JSON [null] string', '[null]'],
    ['broken JSON', '["exec"'],
  ];
  for (const [label, value] of invalid) {
    it(`quarantines ${label} as invalid_acl with the raw value, whatever the source default`, () => {
      for (const defaults of [[], ['hr']]) {
        const item = map({ visibility: value }, defaults);
        expect(item.ok, label).toBe(false);
        if (item.ok) return;
        expect(item.reason).toBe('invalid_acl');
        expect(item.detail).toContain('"visibility"');
        expect(item.detail).toContain(`value: ${JSON.stringify(value)}`);
        expect(item.externalId).toBe('r1');
      }
    });
  }

  it('never yields a record with fewer groups than it stated (property)', () => {
    const group = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
    const junk = fc.oneof(fc.constant(null), fc.constant(''), fc.constant('  '), fc.integer(), fc.boolean(), fc.constant({}));
    const value = fc.oneof(
      fc.array(fc.oneof(group, junk), { maxLength: 4 }),
      fc.array(group, { maxLength: 4 }).map((gs) => gs.join(';')),
      junk,
    );
    fc.assert(
      fc.property(value, fc.array(group, { maxLength: 2 }), (v, defaults) => {
        const item = map({ visibility: v }, defaults);
        if (!item.ok) return item.reason === 'invalid_acl';
        // Accepted only when it names at least one group, and exactly the ones it names.
        const stated = Array.isArray(v) ? v : String(v).split(';');
        return item.record.aclGroups.length > 0 && item.record.aclGroups.every((g) => stated.includes(g)) && stated.every((g) => item.record.aclGroups.includes(g as string));
      }),
      { seed: 20261130, numRuns: 300 },
    );
  });

  it('parses JSON arrays inside strings (CSV cells) and de-duplicates', () => {
    expect(parseAcl('["exec", "exec", "hr"]')).toEqual({ ok: true, groups: ['exec', 'hr'] });
    expect(parseAcl('销售、财务')).toEqual({ ok: true, groups: ['销售', '财务'] });
  });

  it('CSV: an empty cell is "not given" (source default); a blank or malformed cell is quarantined', async () => {
    const dir = tempDir('kb-acl-csv');
    const file = path.join(dir, 'a.csv');
    fs.writeFileSync(file, 'id,body,visibility\n1,First body text,\n2,Second body text,exec\n3,Third body text,"  "\n4,Fourth body text,"[null]"\n');
    const { ok, bad } = await collect(new CsvReader(file, sourceConfig({ type: 'csv', acl_groups: ['hr'], mapping: { acl_groups: 'visibility' } })));
    expect(ok.map((i) => [i.record.externalId, i.record.aclGroups])).toEqual([
      ['1', ['hr']],
      ['2', ['exec']],
    ]);
    expect(bad.map((b) => [b.externalId, b.reason])).toEqual([
      ['3', 'invalid_acl'],
      ['4', 'invalid_acl'],
    ]);
  });

  it('folder: front matter `acl_groups:` with no value is quarantined, not published', async () => {
    const dir = tempDir('kb-acl-folder');
    fs.writeFileSync(path.join(dir, 'open.md'), '---\ntitle: Open\nacl_groups:\n---\nThe body of a document whose ACL line was left empty.\n');
    fs.writeFileSync(path.join(dir, 'exec.md'), '---\ntitle: Exec\nacl_groups: [exec]\n---\nThe body of an exec document.\n');
    const { ok, bad } = await collect(new FolderReader(dir, sourceConfig({ type: 'folder', acl_groups: ['staff'] })));
    expect(ok.map((i) => i.record.aclGroups)).toEqual([['exec']]);
    expect(bad.map((b) => [b.locator.endsWith('open.md'), b.reason])).toEqual([[true, 'invalid_acl']]);
  });
});
