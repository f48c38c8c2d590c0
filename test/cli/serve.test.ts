import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';

// What `npm start` does on a fresh clone: first start on an empty data folder ingests the demo
// world, then serves; chat answers extractively with citations (no model server here).

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-serve-'));
let child: ReturnType<typeof spawn> | null = null;
let stderr = '';
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

async function waitReady(url: string, deadlineMs = 180_000) {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server not ready; stderr:\n${stderr.slice(-3000)}`);
}

describe('kb serve (npm start) on a fresh data folder', () => {
  it('ingests the demo world, serves chat with citations, runs admin ingestion in a child, shuts down on SIGTERM', async () => {
    const port = await freePort();
    child = spawn(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), 'serve'], {
      env: { ...process.env, KB_DATA_DIR: dataDir, PORT: String(port), KB_EMBEDDING__ALLOW_REMOTE: 'false', KB_LOG__LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d) => (stderr += d));
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url);
    expect(stderr).toMatch(/auth is off/i);

    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused' });
    const { data, response } = await client.chat.completions
      .create({ model: 'kb-assistant', messages: [{ role: 'user', content: '华科智能展示了哪款协作机器人？' }] })
      .withResponse();
    expect(response.headers.get('x-kb-mode')).toBe('extractive');
    expect(data.choices[0].message.content).toMatch(/未配置生成模型|no generator/i);
    const citations = (data as unknown as { citations: Array<{ index: number; doc_id: unknown; title: string }> }).citations;
    expect(citations.length).toBeGreaterThan(0);
    expect(citations.map((c) => c.title).join()).toMatch(/华科/);

    // Admin ingestion runs as a child `kb ingest`; the run is recorded with trigger 'api'.
    const started = await fetch(`${url}/v1/admin/ingest`, { method: 'POST' });
    expect(started.status).toBe(202);
    const { run_id } = (await started.json()) as { run_id: number };
    let run: { status: string; trigger: string } | undefined;
    for (let i = 0; i < 120 && run?.status !== 'succeeded'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const runs = (await (await fetch(`${url}/v1/admin/runs`)).json()) as { data: Array<{ id: number; status: string; trigger: string }> };
      run = runs.data.find((r) => r.id === run_id);
    }
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'api' });

    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child!.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    // Generous: first-start ingestion plus the retrieval workers' start (each loads the store,
    // index and query model) take minutes on a loaded shared machine.
  }, 240_000);
});
