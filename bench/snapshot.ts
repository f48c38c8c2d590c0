// Snapshot publish and replica update costs (issue 14): how long the ingestion side takes to
// publish a snapshot (online SQLite backup, index file copy, SHA-256, upload to a directory
// backend) and how long a replica takes to download, verify, open and swap to it, per GiB —
// against a plain copy of the same files in the same run (the cost of the bytes alone). Round 1
// is a full replica fetch; later rounds publish without a new index version, so the replica
// reuses its local index file and fetches only the store.
//
//   node --import tsx bench/snapshot.ts --chunks 20000 [--rounds 2]
//
// Corpus: bench/fixtures/server-corpus.ts (demo text through the real analyzer, synthetic
// 384-d vectors, HNSW through the real syncDenseIndex), cached in bench/out/snapshot-<chunks>/.
// Source and target live on the same local disk here, so "upload"/"download" are file copies:
// a shared volume or object store over the network adds its transfer time (README "Capacity").
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/index.ts';
import { openStore } from '../src/store/index.ts';
import { FsSnapshotBackend } from '../src/snapshot/fs-backend.ts';
import { publishSnapshot } from '../src/snapshot/publish.ts';
import { Replica } from '../src/snapshot/replica.ts';
import type { Embedder } from '../src/embeddings/types.ts';
import { buildServerCorpus } from './fixtures/server-corpus.ts';
import { parseFlags } from './fixtures/flags.ts';

const flags = parseFlags(process.argv.slice(2));
const chunks = Number(flags.get('chunks') ?? 20000);
const rounds = Number(flags.get('rounds') ?? 2);
const MODEL = 'bench:synthetic-384';
const outDir = path.resolve('bench/out', `snapshot-${chunks}`);
const dataDir = path.join(outDir, 'data');
const storeFile = path.join(dataDir, 'kb.sqlite');

if (!fs.existsSync(path.join(outDir, 'ready'))) {
  fs.rmSync(outDir, { recursive: true, force: true });
  console.error(`building a ${chunks}-chunk corpus in ${outDir} (cached for later runs)…`);
  const stats = await buildServerCorpus({ chunks, storeFile, dataDir, modelId: MODEL, dim: 384, params: { m: 16, ef_construction: 200, ef_search: 128, keep_versions: 2 }, log: (m) => console.error(m) });
  fs.writeFileSync(path.join(outDir, 'ready'), JSON.stringify(stats.documents));
}

const db = openStore(storeFile);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-bench-snap-'));
const backend = new FsSnapshotBackend(path.join(root, 'snapshots'));
const replicaDir = path.join(root, 'replica');
const config = loadConfig({ env: {}, overrides: { data_dir: replicaDir } });
// Opening a generation never embeds (no query runs): a stand-in embedder with the corpus's id.
const embedder: Embedder = {
  id: MODEL,
  dimension: 384,
  load: async () => {},
  embedPassages: async () => {
    throw new Error('not used');
  },
  embedQuery: async () => {
    throw new Error('not used');
  },
};
const replica = new Replica({ config, backend, embedder, pollIntervalMs: 3_600_000 });

const gib = (b: number) => b / 2 ** 30;
const mib = (b: number) => (b / 2 ** 20).toFixed(0);
const rows: string[] = [];
try {
  for (let r = 1; r <= rounds; r++) {
    const pub = await publishSnapshot({ db, dataDir, backend, keep: 2 });
    const m = pub.manifest;
    const t0 = performance.now();
    const swapped = r === 1 ? (await replica.start(), true) : await replica.poll();
    const fetchS = (performance.now() - t0) / 1000;
    const st = replica.status();
    if (!swapped || st.snapshot?.id !== m.id) throw new Error(`replica did not swap to ${m.id}: ${JSON.stringify(st.last_error)}`);
    // Baseline in the same run: a plain copy of the same files (what the bytes alone cost here).
    const plain = path.join(root, `plain-${r}`);
    const tc = performance.now();
    for (const f of m.files) {
      const dest = path.join(plain, ...f.path.split('/'));
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(path.join(dataDir, ...f.path.split('/')), dest);
    }
    const copyS = (performance.now() - tc) / 1000;
    fs.rmSync(plain, { recursive: true, force: true });
    const size = gib(m.bytes);
    const fetched = st.last_fetch!;
    rows.push(
      [
        r,
        `${mib(m.bytes)} MiB (${m.files.map((f) => `${path.basename(f.path)} ${mib(f.bytes)}`).join(', ')})`,
        pub.seconds.backup,
        pub.seconds.hash,
        pub.seconds.upload,
        `${pub.seconds.total} (${(pub.seconds.total / size).toFixed(1)} s/GiB)`,
        `${mib(fetched.downloaded_bytes)} / ${mib(fetched.reused_bytes)}`,
        `${fetchS.toFixed(2)} (${(fetchS / size).toFixed(1)} s/GiB)`,
        `${copyS.toFixed(2)} (${(copyS / size).toFixed(1)} s/GiB)`,
        `${(pub.seconds.total / copyS).toFixed(1)}× / ${(fetchS / copyS).toFixed(1)}×`,
      ].join(' | '),
    );
  }
} finally {
  await replica.stop();
  db.close();
  fs.rmSync(root, { recursive: true, force: true });
}
console.log(`snapshot bench, ${chunks} chunks, ${new Date().toISOString()}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log('| round | snapshot size | backup s | sha256 s | upload s | publish total s | replica fetched / reused MiB | replica download + verify + open + swap s | baseline: plain copy s | publish / replica vs plain copy |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r} |`);
