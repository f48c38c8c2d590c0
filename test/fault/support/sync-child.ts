// Child process for test/fault/kill-activation.test.ts: one dense-index sync over the store in
// <data dir>, as `kb ingest` runs it; the parent SIGKILLs it while the new version is activated.
import path from 'node:path';
import { openStore } from '../../../src/store/index.ts';
import { makeGetVectors } from '../../../src/vector/test-corpus.ts';
import { syncDenseIndex } from '../../../src/vector/versions.ts';

import { KILL, MODEL } from './index-params.ts';

const { dim: DIM, params: PARAMS } = KILL;

const dir = process.argv[2];
const db = openStore(path.join(dir, 'kb.sqlite'));
const r = await syncDenseIndex({ db, dataDir: dir, modelId: MODEL, dim: DIM, params: PARAMS, getVectors: makeGetVectors(MODEL, DIM), rebuild: true });
process.stdout.write(`${JSON.stringify(r)}\n`);
db.close();
