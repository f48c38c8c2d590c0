// Cost of verifying an index file before hnswlib reads it (src/vector/integrity.ts): the SHA-256
// + structural scan, sync and async, against hnswlib's own load of the same file.
//
//   node --import tsx bench/index-integrity.ts [--n 20000] [--dim 384] [--m 16] [--ef-construction 40] [--repeat 5]
//
// The scan reads the file once sequentially; its cost grows with the file size (n × (dim·4 +
// 8·m + 12) bytes + upper levels), so figures extrapolate linearly to bigger indexes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import { HnswIndex } from '../src/vector/hnsw.ts';
import { scanIndexFile, scanIndexFileAsync } from '../src/vector/integrity.ts';
import { randomVectors } from '../src/vector/test-corpus.ts';
import { parseFlags } from './fixtures/flags.ts';

const f = parseFlags(process.argv.slice(2));
const n = Number(f.get('n') ?? 20000);
const dim = Number(f.get('dim') ?? 384);
const m = Number(f.get('m') ?? 16);
const efc = Number(f.get('ef-construction') ?? 40);
const repeat = Number(f.get('repeat') ?? 5);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-bench-integrity-'));
const file = path.join(dir, 'a.hnsw');
try {
  const t0 = performance.now();
  const ix = HnswIndex.create(dim, n, { m, efConstruction: efc, seed: 1 });
  const block = 5000;
  for (let i = 0; i < n; i += block) randomVectors(Math.min(block, n - i), dim, i + 7).forEach((v, j) => ix.add(i + j + 1, v));
  const written = await ix.writeAtomic(file);
  const mib = written.bytes / 2 ** 20;
  console.log(`built ${n} × ${dim} (m ${m}, efc ${efc}) in ${((performance.now() - t0) / 1000).toFixed(1)} s; file ${mib.toFixed(1)} MiB`);

  const time = async (label: string, fn: () => unknown | Promise<unknown>) => {
    const ms: number[] = [];
    for (let r = 0; r < repeat; r++) {
      const s = performance.now();
      await fn();
      ms.push(performance.now() - s);
    }
    ms.sort((a, b) => a - b);
    const median = ms[Math.floor(ms.length / 2)];
    console.log(`${label.padEnd(34)} median ${median.toFixed(1)} ms  (${(mib / (median / 1000)).toFixed(0)} MiB/s; min ${ms[0].toFixed(1)}, max ${ms.at(-1)!.toFixed(1)})`);
    return median;
  };
  const scan = await time('scan (sha256 + structure), sync', () => scanIndexFile(file));
  await time('scan, async (thread-pool reads)', () => scanIndexFileAsync(file));
  const native = await time('hnswlib readIndexSync alone', () => {
    const x = new hnswlib.HierarchicalNSW('cosine', dim);
    x.readIndexSync(file, true);
  });
  const full = await time('HnswIndex.load with checksum', () => HnswIndex.load(file, dim, { sha256: written.sha256, bytes: written.bytes, liveCount: n }));
  console.log(`verification adds ${(scan).toFixed(0)} ms to a ${native.toFixed(0)} ms load (${((full / native - 1) * 100).toFixed(0)}% more); at 1M × 384 (≈1,606 MiB) that is ≈ ${((1606 / mib) * scan / 1000).toFixed(1)} s`);
  console.log(`machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(JSON.stringify({ bench: 'index-integrity', n, dim, mib, scan_ms: scan, native_load_ms: native, verified_load_ms: full, loadavg: os.loadavg()[0] }));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
