import http from 'node:http';
import type { AddressInfo } from 'node:net';

// Test double: a scripted OpenAI-compatible chat server that records every request it receives.

export interface UpstreamRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  body: Record<string, unknown>;
  /** Resolves when the connection closed; `aborted` says whether before the reply finished. */
  closed: Promise<void>;
  aborted: boolean;
}

export interface Reply {
  /** Full answer text (split into `chunks` when streaming, unless chunks is given). */
  content?: string;
  chunks?: string[];
  /** Sent as delta/message reasoning_content (servers with a reasoning parser). */
  reasoning?: string;
  /** Wait before sending headers. */
  delayMs?: number;
  /** Wait between streamed chunks. */
  chunkDelayMs?: number;
  /** After this many streamed chunks, stop sending and keep the connection open. */
  stallAfter?: number;
  /** Reply with this HTTP error instead. */
  error?: { status: number; message: string; retryable?: boolean };
  /** Reported token usage (any value: tests send invalid usage too). */
  usage?: { prompt_tokens: unknown; completion_tokens: unknown };
  /** Fault injection: write the whole reply (status, headers, bytes) yourself, after delayMs. */
  raw?: (res: http.ServerResponse, req: UpstreamRequest) => void | Promise<void>;
}

export type Script = (req: UpstreamRequest, index: number) => Reply;

export class ScriptedUpstream {
  readonly requests: UpstreamRequest[] = [];
  /** Models the server knows; others get vLLM's 404 "model does not exist". */
  models = new Set<string>(['base-model']);
  script: Script = () => ({ content: 'OK [1]' });
  private server: http.Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/v1`;
    return this;
  }

  /** Back to the defaults between tests: no recorded requests, the base model, "OK [1]". */
  reset(): void {
    this.requests.length = 0;
    this.models = new Set(['base-model']);
    this.script = () => ({ content: 'OK [1]' });
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Requests that were not the follow-up rewrite call. */
  answerRequests(): UpstreamRequest[] {
    return this.requests.filter((r) => !String(r.messages[0]?.content ?? '').startsWith("Rewrite the user's last question"));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = await new Promise<string>((resolve) => {
      let s = '';
      req.on('data', (d) => (s += d));
      req.on('end', () => resolve(s));
    });
    if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
      return;
    }
    const body = JSON.parse(raw) as Record<string, unknown>;
    let resolveClosed!: () => void;
    const record: UpstreamRequest = {
      model: String(body.model),
      messages: body.messages as UpstreamRequest['messages'],
      body,
      closed: new Promise<void>((r) => (resolveClosed = r)),
      aborted: false,
    };
    res.on('close', () => {
      record.aborted = !res.writableFinished;
      resolveClosed();
    });
    const index = this.requests.push(record) - 1;
    if (!this.models.has(record.model)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'error', message: `The model \`${record.model}\` does not exist.`, type: 'NotFoundError', code: 404 }));
      return;
    }
    const reply = this.script(record, index);
    if (reply.delayMs) await sleep(reply.delayMs);
    if (res.destroyed) return;
    if (reply.raw) {
      await reply.raw(res, record);
      return;
    }
    if (reply.error) {
      res.writeHead(reply.error.status, { 'content-type': 'application/json', 'x-should-retry': reply.error.retryable ? 'true' : 'false', 'retry-after-ms': '10' });
      res.end(JSON.stringify({ error: { message: reply.error.message, type: 'error', code: null } }));
      return;
    }
    const content = reply.content ?? '';
    const usage = reply.usage ?? { prompt_tokens: 100, completion_tokens: 10 };
    const base = { id: `up-${index}`, created: 1, model: record.model };
    if (!body.stream) {
      const message: Record<string, unknown> = { role: 'assistant', content };
      if (reply.reasoning) message.reasoning_content = reply.reasoning;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: 'stop' }], usage: { ...usage, total_tokens: Number(usage.prompt_tokens) + Number(usage.completion_tokens) } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (delta: Record<string, unknown>, finish: string | null = null) =>
      res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    send({ role: 'assistant', content: '' });
    if (reply.reasoning) send({ reasoning_content: reply.reasoning });
    const chunks = reply.chunks ?? content.match(/.{1,5}/gsu) ?? [];
    for (let i = 0; i < chunks.length; i++) {
      if (reply.stallAfter !== undefined && i >= reply.stallAfter) return; // keep the connection open, silent
      if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
      if (res.destroyed) return;
      send({ content: chunks[i] });
    }
    send({}, 'stop');
    res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage: { ...usage, total_tokens: Number(usage.prompt_tokens) + Number(usage.completion_tokens) } })}\n\n`);
    res.end('data: [DONE]\n\n');
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
