import fs from 'node:fs';
import path from 'node:path';
import type { Config, SourceConfig } from '../src/config/index.ts';
import type { Logger } from '../src/log/index.ts';
import { demoSourceConfigs, generateDemoCorpus } from '../src/demo/generate.ts';
import { generateDemoCore } from '../src/core/demo.ts';
import type { DB } from '../src/store/index.ts';
import { UPLOADS_SOURCE } from './sources/uploads.ts';

/** Where the upload API stores files: the managed `uploads` folder source. */
export const uploadsDir = (config: Config) => path.join(config.data_dir, 'uploads');

/** Where the demo world is generated when no sources are configured. */
export const demoDir = (config: Config) => path.join(config.data_dir, 'demo');

/**
 * The sources a run ingests: the configured ones, or — with none configured and demo.enabled —
 * the demo world, generated on first use so a fresh clone has data to serve (its core records
 * are imported into the store too, when it has none).
 */
export async function resolveSources(config: Config, only: string[] | undefined, log: Logger, db?: DB): Promise<SourceConfig[]> {
  let sources = config.sources;
  if (sources.length === 0) {
    if (!config.demo.enabled) throw new Error('no sources configured (config `sources`) and demo.enabled is false');
    const dir = demoDir(config);
    if (!fs.existsSync(path.join(dir, 'sources.json'))) {
      log.info({ dir, docs: config.demo.docs }, 'no sources configured: generating the demo world');
      await generateDemoCorpus({ docs: config.demo.docs, seed: config.demo.seed, outDir: dir });
    }
    sources = demoSourceConfigs(dir);
    // The other half of the demo world: its core structured records (for fine-tuning), once.
    if (db && (db.prepare('SELECT count(*) FROM core_entities').pluck().get() as number) === 0) {
      const core = generateDemoCore(db, config.core, path.join(dir, 'core'));
      log.info({ records: core.files.reduce((n, f) => n + f.records, 0) }, 'imported the demo world\'s core records');
    }
  }
  // The managed uploads source, once the upload API has created its folder.
  if (config.uploads.enabled) {
    if (sources.some((s) => s.name === UPLOADS_SOURCE)) {
      throw new Error(`source name "${UPLOADS_SOURCE}" is reserved for files added through the upload API (uploads.enabled); rename the configured source`);
    }
    if (fs.existsSync(uploadsDir(config))) {
      sources = [...sources, { name: UPLOADS_SOURCE, type: 'folder', path: 'uploads', mode: 'full', kind: config.uploads.default_kind, mapping: {}, acl_groups: [] }];
    }
  }
  if (only && only.length > 0) {
    const unknown = only.filter((n) => !sources.some((s) => s.name === n));
    if (unknown.length) throw new Error(`unknown source(s): ${unknown.join(', ')} (configured: ${sources.map((s) => s.name).join(', ')})`);
    sources = sources.filter((s) => only.includes(s.name));
  }
  return sources;
}
