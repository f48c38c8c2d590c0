import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createKey, type KeyScope } from '../../../src/auth/keys.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { silentLogger } from '../../../src/log/index.ts';
import { createHybridRetriever } from '../../../src/retrieval/hybrid.ts';
import type { Retriever } from '../../../src/retrieval/types.ts';
import { startServer, type RunningServer, type StartServerOptions } from '../../../serve/main.ts';
import { createFixture, TestRetriever, type Fixture } from './corpus.ts';
import { ScriptedUpstream } from './scripted-upstream.ts';

export interface TestServerOptions {
  /** Connect kb-assistant to this upstream (else: no generator, extractive mode). */
  upstream?: ScriptedUpstream;
  assistant?: Record<string, unknown>;
  upstreamSettings?: Record<string, unknown>;
  overrides?: Record<string, unknown>;
  keys?: Array<{ name: string; scopes: KeyScope[]; groups: string[] }>;
  /** auth.mode; default: `required` when `keys` are given, else `off` (the shipped default). */
  authMode?: 'off' | 'required';
  leakyRetriever?: boolean;
  degraded?: string[];
  /** Serve with the real hybrid retriever (BM25 leg over the fixture store, no dense leg) instead of the test double. */
  realRetriever?: boolean;
  server?: Partial<StartServerOptions>;
}

export interface TestServer {
  server: RunningServer;
  fixture: Fixture;
  retriever: TestRetriever;
  /** The retriever the server uses (the test double unless realRetriever). */
  serving: Retriever;
  secrets: string[];
  baseURL: string;
  client(key?: string, opts?: { maxRetries?: number }): OpenAI;
  close(): Promise<void>;
}

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const fixture = createFixture();
  const overrides: Record<string, unknown> = {
    data_dir: fixture.dir,
    log: { level: 'silent' },
    ...(o.upstream
      ? {
          upstreams: { scripted: { base_url: o.upstream.url, api_key: 'up-key', timeout_ms: 2000, max_retries: 0, ...o.upstreamSettings } },
          assistants: { 'kb-assistant': { upstream: 'scripted', model: 'base-model', adapter: '', ...o.assistant } },
        }
      : o.assistant
        ? { assistants: { 'kb-assistant': o.assistant } }
        : {}),
    ...o.overrides,
  };
  const authMode = o.authMode ?? (o.keys?.length ? 'required' : 'off');
  overrides.auth = { ...(overrides.auth as Record<string, unknown> | undefined), mode: authMode };
  const config = loadConfig({ env: {}, overrides });
  const secrets = (o.keys ?? []).map((k) => createKey(fixture.db, k).secret);
  const retriever = new TestRetriever(fixture.db, { ignoreAcl: o.leakyRetriever, degraded: o.degraded });
  const serving: Retriever = o.realRetriever ? createHybridRetriever({ db: fixture.db, dense: null, embedder: null, config }) : retriever;
  let server: RunningServer;
  try {
    server = await startServer(config, {
      retriever: serving,
      db: fixture.db,
      log: silentLogger,
      port: 0,
      host: '127.0.0.1',
      indexStatus: () => ({ loaded: true, version: 1 }),
      ...o.server,
    });
  } catch (err) {
    fixture.cleanup();
    throw err;
  }
  const baseURL = `${server.url}/v1`;
  let closed: Promise<void> | null = null;
  const t: TestServer = {
    server,
    fixture,
    retriever,
    serving,
    secrets,
    baseURL,
    client: (key = secrets[0] ?? 'unused', opts = {}) => new OpenAI({ baseURL, apiKey: key, maxRetries: opts.maxRetries ?? 0, timeout: 10_000 }),
    close() {
      // Idempotent: a test may close its server itself before useScriptedUpstream's hook does.
      closed ??= server.close().finally(() => {
        fixture.cleanup();
        running.delete(t);
      });
      return closed;
    },
  };
  running.add(t);
  return t;
}

const running = new Set<TestServer>();

/**
 * One scripted upstream per test file: started before its tests and closed after them; after
 * each test every server startTestServer started is closed and the upstream is reset.
 */
export function useScriptedUpstream(): ScriptedUpstream {
  const upstream = new ScriptedUpstream();
  beforeAll(async () => {
    await upstream.start();
  });
  afterAll(async () => {
    await upstream.close();
  });
  afterEach(async () => {
    await Promise.all([...running].map((s) => s.close()));
    upstream.reset();
  });
  return upstream;
}

/** Accumulates an official-client stream: content, reasoning, the final chunk's extras. */
export async function collectStream(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let content = '';
  let reasoning = '';
  let last: Record<string, unknown> | null = null;
  let usage: unknown = null;
  const chunks: unknown[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    const c = chunk as unknown as Record<string, unknown> & { choices: Array<{ delta: Record<string, string>; finish_reason: string | null }> };
    if (c.usage) usage = c.usage;
    const choice = c.choices[0];
    if (!choice) continue;
    content += choice.delta.content ?? '';
    reasoning += choice.delta.reasoning_content ?? '';
    if (choice.finish_reason) last = c;
  }
  return { content, reasoning, last, usage, chunks };
}
