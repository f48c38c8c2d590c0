// Embeddings from any OpenAI-compatible /v1/embeddings endpoint (OpenAI, vLLM, Ollama,
// llama.cpp server, TEI, ...). embedding.pooling and max_tokens are the server's business here;
// prefixes and L2 normalisation are applied on our side so vectors match the local provider's.
import { passageSettingsTag } from './id.ts';
import OpenAI, { APIConnectionError, APIError } from 'openai';
import type { Config } from '../config/index.ts';
import { EmbedderUnavailableError, type Embedder } from './types.ts';

export interface OpenAIEmbedderOptions {
  /** Retries per request on connection errors, 408/409/429 and 5xx (with backoff). Default 2. */
  maxRetries?: number;
}

function l2normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

/** Some servers answer base64 even when asked for floats; accept both. */
function toVector(embedding: number[] | string): Float32Array {
  if (typeof embedding !== 'string') return Float32Array.from(embedding);
  const bytes = Buffer.from(embedding, 'base64');
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export class OpenAIEmbedder implements Embedder {
  readonly id: string;
  readonly batchSize: number;
  private dim = 0;
  private readonly client: OpenAI;
  private readonly baseUrl: string;

  constructor(
    private readonly settings: Config['embedding'],
    options: OpenAIEmbedderOptions = {},
  ) {
    const { base_url, api_key, dimensions, timeout_ms } = settings.openai;
    this.baseUrl = base_url;
    this.id = `openai:${new URL(base_url).host}/${settings.model}${dimensions > 0 ? `@${dimensions}` : ''}#${passageSettingsTag(settings)}`;
    this.batchSize = settings.batch_size;
    // The client refuses an empty key; local servers ignore whatever we send.
    this.client = new OpenAI({
      baseURL: base_url,
      apiKey: api_key || 'not-needed',
      timeout: timeout_ms,
      maxRetries: options.maxRetries ?? 2,
    });
  }

  get dimension(): number {
    return this.dim;
  }

  async load(): Promise<void> {
    if (this.dim > 0) return;
    let probe: Float32Array;
    try {
      [probe] = await this.request([this.settings.passage_prefix + 'dimension probe']);
    } catch (err) {
      throw err instanceof EmbedderUnavailableError ? err : new EmbedderUnavailableError(this.describe(err), { cause: err });
    }
    const wanted = this.settings.openai.dimensions;
    if (wanted > 0 && probe.length !== wanted) {
      throw new EmbedderUnavailableError(
        `embedding endpoint ${this.baseUrl} returned ${probe.length}-dimensional vectors for model ${this.settings.model} but embedding.openai.dimensions=${wanted}; the server ignores "dimensions": set it to 0`,
      );
    }
    this.dim = probe.length;
  }

  embedPassages(texts: string[]): Promise<Float32Array[]> {
    return this.embedAll(texts.map((t) => this.settings.passage_prefix + t));
  }

  async embedQuery(text: string): Promise<Float32Array> {
    const [vector] = await this.embedAll([this.settings.query_prefix + text]);
    return vector;
  }

  private async embedAll(texts: string[]): Promise<Float32Array[]> {
    if (this.dim === 0) throw new Error(`embedder ${this.id} is not loaded: call load() first`);
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      const vectors = await this.request(texts.slice(i, i + this.batchSize));
      for (const v of vectors) {
        if (v.length !== this.dim) {
          throw new EmbedderUnavailableError(
            `embedding endpoint ${this.baseUrl} returned a ${v.length}-dimensional vector, expected ${this.dim} (model ${this.settings.model} changed on the server?)`,
          );
        }
      }
      out.push(...vectors);
    }
    return out;
  }

  private async request(input: string[]): Promise<Float32Array[]> {
    if (input.length === 0) return [];
    const { dimensions } = this.settings.openai;
    let response: OpenAI.CreateEmbeddingResponse;
    try {
      response = await this.client.embeddings.create({
        model: this.settings.model,
        input,
        // Explicit floats: the client otherwise asks for base64, which several servers reject.
        encoding_format: 'float',
        ...(dimensions > 0 ? { dimensions } : {}),
      });
    } catch (err) {
      throw new EmbedderUnavailableError(this.describe(err), { cause: err });
    }
    const data = Array.isArray(response?.data) ? response.data : [];
    if (data.length !== input.length) {
      throw new EmbedderUnavailableError(
        `embedding endpoint ${this.baseUrl} returned ${data.length} embeddings for ${input.length} inputs`,
      );
    }
    // Servers may return items out of order; `index` is authoritative.
    const sorted = [...data].sort((a, b) => a.index - b.index);
    return sorted.map((d) => {
      const v = toVector(d.embedding as number[] | string);
      return this.settings.normalize ? l2normalize(v) : v;
    });
  }

  private describe(err: unknown): string {
    const where = `embedding endpoint ${this.baseUrl} (model ${this.settings.model})`;
    if (err instanceof APIConnectionError) {
      const cause = (err as { cause?: unknown }).cause;
      const detail = cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
      return `${where} is unreachable: ${detail}. Check embedding.openai.base_url and that the server is running.`;
    }
    if (err instanceof APIError) {
      const hint =
        err.status === 401 || err.status === 403
          ? ' — the server rejected the API key (embedding.openai.api_key / KB_EMBEDDING__OPENAI__API_KEY)'
          : err.status === 404
            ? ' — wrong base_url, or the model is not served there'
            : '';
      return `${where} failed with HTTP ${err.status}: ${err.message}${hint}`;
    }
    return `${where} failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}
