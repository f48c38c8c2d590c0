import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../../test/fixtures/tiny-model/build.ts';
import { loadConfig } from '../../config/index.ts';
import { LocalEmbedder } from '../../embeddings/local.ts';
import { silentLogger } from '../../log/index.ts';
import { prefetchQueryModel } from './prefetch.ts';

// Workers must not all download a missing query model at once: the server fetches it once first.

let tmp: string;
let hub: http.Server;
const requested: string[] = [];
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-prefetch-'));
  const source = path.join(tmp, 'hub-source');
  await buildTinyModel(source, { dim: 16 });
  hub = http.createServer((req, res) => {
    requested.push(req.url ?? '');
    const m = /^\/acme\/hub-model\/resolve\/main\/(.+)$/.exec(req.url ?? '');
    const file = m ? path.join(source, decodeURIComponent(m[1])) : '';
    if (!m || !fs.existsSync(file)) return void res.writeHead(404).end('not found');
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  process.env.HF_ENDPOINT = `http://127.0.0.1:${(hub.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  delete process.env.HF_ENDPOINT;
  await new Promise<void>((r) => hub.close(() => r()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

const config = (allow_remote: boolean) => loadConfig({ env: {}, overrides: { data_dir: path.join(tmp, 'data'), embedding: { provider: 'local', model: 'acme/hub-model', allow_remote } } });
const onnxFetches = () => requested.filter((u) => u.endsWith('.onnx')).length;

describe('prefetchQueryModel', () => {
  it('downloads a missing model once, and does nothing when it is present or downloads are off', async () => {
    await prefetchQueryModel(config(false), silentLogger);
    expect(requested).toEqual([]);

    await prefetchQueryModel(config(true), silentLogger);
    expect(onnxFetches()).toBe(1);
    expect(new LocalEmbedder(config(true).embedding, path.join(tmp, 'data', 'models')).missingFiles()).toEqual([]);

    await prefetchQueryModel(config(true), silentLogger);
    expect(onnxFetches()).toBe(1);
  });
});
