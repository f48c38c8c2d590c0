// Child process for the BM25 crash test: builds a version and hangs at the requested point
// (after reading some chunks, or with the file fully written but before its rename), printing
// "ready" so the parent can SIGKILL it there.
import fs from 'node:fs';
import { openStore } from '../../src/store/index.ts';
import { syncBm25Index } from '../../src/bm25/versions.ts';

const [storeFile, dataDir, stage] = process.argv.slice(2);
const hang = (): never => {
  process.stdout.write('ready\n');
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
};
if (stage === 'write') {
  // fs is the CommonJS module object: the builder's fsync of the temp file goes through here.
  const real = fs.fsyncSync;
  (fs as { fsyncSync: typeof fs.fsyncSync }).fsyncSync = (fd) => {
    real(fd);
    hang();
  };
}
const db = openStore(storeFile);
syncBm25Index(db, dataDir, { force: true, onProgress: stage === 'read' ? hang : undefined });
process.stdout.write('finished\n');
