import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { dataPath } from '../../src/config/index.ts';
import { generateDemoCore } from '../../src/core/demo.ts';
import { importCoreFile } from '../../src/core/import.ts';
import type { CoreFormat } from '../../src/core/readers.ts';
import { findBrokenReferences } from '../../src/core/references.ts';
import { countEntities, countQuarantine, loadEntities } from '../../src/core/store.ts';
import { openContext } from '../context.ts';

// `kb core import|status|check|quarantine|demo`: the core structured records behind the LoRA
// training set (types and fields in config `core:`).

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const json = (v: unknown): void => out(JSON.stringify(v));

function format(v: string): CoreFormat {
  if (v !== 'csv' && v !== 'jsonl' && v !== 'json') throw new InvalidArgumentError('must be csv, jsonl or json');
  return v;
}
function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function register(program: Command): void {
  const core = program.command('core').description('core structured records (companies, people, products, exhibitions, conferences, reports)');

  core
    .command('import')
    .description('validate and import a CSV / JSONL / JSON file of one type; bad rows are quarantined with a reason')
    .argument('<file>', 'records file (.csv with a header row, .jsonl, or .json holding an array)')
    .requiredOption('--type <type>', 'core type (see config core.types)')
    .option('--format <format>', 'csv | jsonl | json (default: from the file extension)', format)
    .option('--replace', 'the file is a full snapshot: delete records of this type that it lacks')
    .option('--json', 'print the import report as JSON')
    .action((file: string, opts: { type: string; format?: CoreFormat; replace?: boolean; json?: boolean }) => {
      const ctx = openContext();
      try {
        const r = importCoreFile(ctx.db, ctx.config.core, { file, type: opts.type, format: opts.format, mode: opts.replace ? 'replace' : 'upsert' });
        if (opts.json) return json(r);
        out(`import #${r.run_id} ${r.type} from ${r.file} (${r.format}, ${r.mode})`);
        out(`  rows ${r.rows} · inserted ${r.inserted} · updated ${r.updated} · unchanged ${r.unchanged} · deleted ${r.deleted} · quarantined ${r.quarantined}`);
        for (const [reason, n] of Object.entries(r.quarantine_reasons)) out(`  quarantined ${reason}: ${n}  (kb core quarantine)`);
        if (r.unknown_columns.length) out(`  ignored columns not in the schema: ${r.unknown_columns.join(', ')}`);
        if (r.broken_references.count) {
          out(`  ${r.broken_references.count} reference(s) to missing records (kept; left out of training until the target exists):`);
          for (const b of r.broken_references.items.slice(0, 10)) out(`    ${b.type} ${b.key}.${b.field} → ${b.targetType} ${b.target} (missing)`);
        }
      } finally {
        ctx.close();
      }
    });

  core
    .command('status')
    .description('records per type, quarantined rows by reason, broken references')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }) => {
      const ctx = openContext();
      try {
        const s = {
          records: countEntities(ctx.db),
          quarantine: countQuarantine(ctx.db),
          broken_references: findBrokenReferences(ctx.config.core, loadEntities(ctx.db, ctx.config.core)).length,
        };
        if (opts.json) return json(s);
        for (const t of Object.keys(ctx.config.core.types)) out(`${t.padEnd(12)} ${s.records[t] ?? 0}`);
        out(`quarantined  ${Object.entries(s.quarantine).map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}`);
        out(`broken refs  ${s.broken_references}${s.broken_references ? '  (kb core check)' : ''}`);
      } finally {
        ctx.close();
      }
    });

  core
    .command('check')
    .description('list references to records that do not exist (exit 1 when there are any)')
    .option('--json', 'print a JSON array')
    .action((opts: { json?: boolean }) => {
      const ctx = openContext();
      try {
        const broken = findBrokenReferences(ctx.config.core, loadEntities(ctx.db, ctx.config.core));
        if (opts.json) json(broken);
        else if (broken.length === 0) out('no broken references');
        else for (const b of broken) out(`${b.relation}: ${b.type} ${b.key}.${b.field} → ${b.targetType} ${b.target} (missing)`);
        if (broken.length) process.exitCode = 1;
      } finally {
        ctx.close();
      }
    });

  core
    .command('quarantine')
    .description('show quarantined rows, newest first')
    .option('--limit <n>', 'rows to show', positiveInt, 50)
    .option('--json', 'print a JSON array')
    .action((opts: { limit: number; json?: boolean }) => {
      const ctx = openContext();
      try {
        const rows = ctx.db
          .prepare('SELECT id, import_run, type, locator, reason, detail, raw, created_at FROM core_quarantine ORDER BY id DESC LIMIT ?')
          .all(opts.limit) as { id: number; type: string; locator: string; reason: string; detail: string | null; raw: string }[];
        if (opts.json) return json(rows);
        for (const r of rows) out(`#${r.id} ${r.type} ${r.locator} ${r.reason}: ${r.detail ?? ''}\n    ${r.raw.slice(0, 200)}`);
        if (rows.length === 0) out('no quarantined rows');
      } finally {
        ctx.close();
      }
    });

  core
    .command('demo')
    .description('write the demo world\'s core records (the companies and events the demo news talk about) and import them')
    .option('--dir <dir>', 'where to write the files (default: <data_dir>/demo/core)')
    .option('--json', 'print the result as JSON')
    .action((opts: { dir?: string; json?: boolean }) => {
      const ctx = openContext();
      try {
        const dir = path.resolve(opts.dir ?? dataPath(ctx.config, 'demo', 'core'));
        const r = generateDemoCore(ctx.db, ctx.config.core, dir);
        if (opts.json) return json(r);
        for (const [i, f] of r.files.entries()) out(`${f.type.padEnd(12)} ${String(f.records).padStart(4)} records  ${f.file}  (quarantined ${r.imports[i].quarantined})`);
        out(`broken references: ${r.broken_references.length}`);
      } finally {
        ctx.close();
      }
    });
}
