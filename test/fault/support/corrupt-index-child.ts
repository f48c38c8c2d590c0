// Child process for test/fault/index-corruption.test.ts: a segfault here must not take vitest
// down with it, so every load of a corrupted file happens in this process.
//
// Usage: node --import tsx corrupt-index-child.ts <pristine data dir> <seed> <trials> <checksums: yes|no>
// For each trial: copy the pristine data folder, damage the active index file (a few bytes at a
// random offset, or 4 KB of random level-0 data), then (1) start a DenseIndexReader and search
// (what `kb serve` and `kb search` do), (2) run syncDenseIndex (what `kb ingest` does), (3) start
// a fresh reader on the result. Prints one JSON line per trial; exits 0 unless something threw.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../../../src/store/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { DenseIndexReader } from '../../../src/vector/reader.ts';
import { makeGetVectors, randomVectors } from '../../../src/vector/test-corpus.ts';
import { activeVersion, syncDenseIndex } from '../../../src/vector/versions.ts';

import { FUZZ, MODEL } from './index-params.ts';

const { dim: DIM, params: PARAMS } = FUZZ;

const [pristine, seedArg, trialsArg, checksums] = process.argv.slice(2);
const rng = createRng(Number(seedArg));
const trials = Number(trialsArg);
const queries = randomVectors(5, DIM, 99);

for (let t = 0; t < trials; t++) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-fault-'));
  fs.cpSync(pristine, dir, { recursive: true });
  const db = openStore(path.join(dir, 'kb.sqlite'));
  try {
    if (checksums === 'no') db.prepare('UPDATE index_versions SET sha256 = NULL, bytes = NULL').run();
    const active = activeVersion(db)!;
    const file = path.join(dir, active.file);
    const bytes = fs.readFileSync(file);
    const level0End = 96 + Number(bytes.readBigUInt64LE(16) * bytes.readBigUInt64LE(24));
    const block = t % 4 === 3; // every 4th trial: 4 KB of random level-0 data
    const len = block ? 4096 : 1 + Math.floor(rng() * 4);
    const offset = block ? 96 + Math.floor(rng() * Math.max(1, level0End - 96 - len)) : Math.floor(rng() * (bytes.length - len));
    for (let i = offset; i < offset + len && i < bytes.length; i++) bytes[i] ^= 1 + Math.floor(rng() * 255); // never a no-op
    fs.writeFileSync(file, bytes);

    const reader = new DenseIndexReader({ db, dataDir: dir, efSearch: 40, reloadIntervalMs: 60_000 });
    await reader.maybeReload({ force: true });
    const served = reader.status();
    let hits = 0;
    for (const q of queries) hits += reader.search(q, 10).length;

    const sync = await syncDenseIndex({ db, dataDir: dir, modelId: MODEL, dim: DIM, params: PARAMS, getVectors: makeGetVectors(MODEL, DIM) });
    const after = new DenseIndexReader({ db, dataDir: dir, efSearch: 40, reloadIntervalMs: 60_000 });
    await after.maybeReload({ force: true });
    const afterHits = after.search(queries[0], 10).length;
    process.stdout.write(
      `${JSON.stringify({
        trial: t,
        offset,
        len,
        served: { version: served.version, active: served.activeVersion, fallback: served.fallback ?? null, error: served.error?.message ?? null },
        hits,
        sync: { version: sync.version_id, rebuilt: sync.rebuilt, reason: sync.rebuild_reason },
        after: { version: after.status().version, fallback: after.status().fallback ?? null, hits: afterHits },
      })}\n`,
    );
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
