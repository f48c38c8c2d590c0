// In-process embeddings with transformers.js (ONNX Runtime on CPU). Models are read from
// <data_dir>/models/<model id>/ and, when embedding.allow_remote is true, downloaded there from
// the Hugging Face hub on first use.
//
// Settings known models were trained with (config wins; set these in config/local.yaml):
//   model                               pooling  normalize  query_prefix                          passage_prefix
//   Xenova/multilingual-e5-small/base   mean     true       "query: "                             "passage: "
//   Xenova/bge-small-zh-v1.5 / bge-*-zh cls      true       "为这个句子生成表示以用于检索相关文章："   ""
//   Xenova/bge-*-en-v1.5                cls      true       "Represent this sentence for searching relevant passages: "  ""
//   Xenova/gte-small / thenlper/gte-*   mean     true       ""                                    ""
import { passageSettingsTag } from './id.ts';
import fs from 'node:fs';
import path from 'node:path';
import {
  AutoModel,
  AutoTokenizer,
  env,
  mean_pooling,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type Tensor,
} from '@huggingface/transformers';
import type { Config } from '../config/index.ts';
import { EmbedderUnavailableError, type Embedder } from './types.ts';

export type EmbeddingConfig = Config['embedding'];

export interface LocalEmbedderOptions {
  /**
   * Bound on waiting for the hub to answer one request (until response headers arrive), so an
   * unreachable network fails load() instead of hanging. Default 30 s.
   */
  remoteTimeoutMs?: number;
  /** Hub (or mirror) base URL; default: $HF_ENDPOINT (e.g. https://hf-mirror.com), else https://huggingface.co/. */
  remoteHost?: string;
  /**
   * ONNX Runtime intra-op threads for this model's session (default: ONNX Runtime's own choice,
   * one per core). Several embedders in one process (retrieval worker threads) each get a share
   * of the cores, or their thread pools would oversubscribe the machine.
   */
  intraOpThreads?: number;
}

// Captured before any load changes it: env is process-global and a previous load may have set a mirror.
const DEFAULT_REMOTE_HOST = env.remoteHost;

/** ONNX file suffix per dtype, as transformers.js v4 names them (onnx/model<suffix>.onnx). */
export const DTYPE_FILE_SUFFIX: Record<EmbeddingConfig['dtype'], string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  bnb4: '_bnb4',
  q4f16: '_q4f16',
};

/** Files transformers.js needs to build a feature-extraction model + tokenizer for `dtype`. */
export function requiredModelFiles(dtype: EmbeddingConfig['dtype']): string[] {
  return ['config.json', 'tokenizer.json', 'tokenizer_config.json', `onnx/model${DTYPE_FILE_SUFFIX[dtype]}.onnx`];
}

/**
 * transformers.js fetches through env.fetch. A stalled connection would otherwise wait for the OS
 * timeout (minutes); we abort when no response headers arrived in time. The body (a large model
 * download) is not bounded, since a slow but progressing download is legitimate.
 */
function fetchWithHeaderTimeout(timeoutMs: number) {
  return async (input: string | URL, init: RequestInit = {}): Promise<Response> => {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`no response from ${String(input)} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const signal = init.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
    try {
      return await fetch(input, { ...init, signal });
    } finally {
      clearTimeout(timer);
    }
  };
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const causeText = cause instanceof Error ? cause.message : cause ? String(cause) : '';
  return causeText && !err.message.includes(causeText) ? `${err.message} (${causeText})` : err.message;
}

export class LocalEmbedder implements Embedder {
  readonly id: string;
  /** Texts per forward pass (embedding.batch_size); embedWithCache batches misses by it. */
  readonly batchSize: number;
  private dim = 0;
  private tokenizer: PreTrainedTokenizer | null = null;
  private model: PreTrainedModel | null = null;
  private readonly modelDir: string;

  constructor(
    private readonly settings: EmbeddingConfig,
    private readonly modelsDir: string,
    private readonly options: LocalEmbedderOptions = {},
  ) {
    this.id = `local:${settings.model}@${settings.dtype}#${passageSettingsTag(settings)}`;
    this.batchSize = settings.batch_size;
    this.modelDir = path.isAbsolute(settings.model) ? settings.model : path.join(modelsDir, settings.model);
  }

  get dimension(): number {
    return this.dim;
  }

  /** Files of the configured model/dtype that are absent from the models folder. */
  missingFiles(): string[] {
    return requiredModelFiles(this.settings.dtype).filter((f) => !fs.existsSync(path.join(this.modelDir, f)));
  }

  async load(): Promise<void> {
    if (this.model) return;
    const { model, dtype, allow_remote } = this.settings;
    const missing = this.missingFiles();
    if (missing.length > 0 && !allow_remote) {
      throw new EmbedderUnavailableError(
        `embedding model ${model} (dtype ${dtype}) not found under ${this.modelsDir}: missing ${missing
          .map((f) => path.join(this.modelDir, f))
          .join(', ')}; remote download is disabled (embedding.allow_remote=false). ` +
          `Copy the model folder to ${this.modelDir} or set embedding.allow_remote=true.`,
      );
    }

    // transformers.js configuration is process-global; set it right before each load.
    env.allowLocalModels = true;
    env.allowRemoteModels = allow_remote;
    env.localModelPath = this.modelsDir;
    // The file cache keys downloads by "<model>/<file>", so downloads land exactly where the
    // local lookup searches next time.
    env.cacheDir = this.modelsDir;
    env.fetch = fetchWithHeaderTimeout(this.options.remoteTimeoutMs ?? 30_000);
    env.remoteHost = (this.options.remoteHost ?? process.env.HF_ENDPOINT ?? DEFAULT_REMOTE_HOST).replace(/\/?$/, '/');

    let tokenizer: PreTrainedTokenizer;
    let loaded: PreTrainedModel;
    try {
      const loadOpts = { cache_dir: this.modelsDir, local_files_only: !allow_remote };
      [tokenizer, loaded] = await Promise.all([
        AutoTokenizer.from_pretrained(model, loadOpts),
        AutoModel.from_pretrained(model, {
          ...loadOpts,
          dtype,
          device: 'cpu',
          ...(this.options.intraOpThreads ? { session_options: { intraOpNumThreads: this.options.intraOpThreads, interOpNumThreads: 1 } } : {}),
        }),
      ]);
    } catch (err) {
      const where =
        missing.length > 0
          ? `it is not complete under ${this.modelDir} (missing ${missing.join(', ')}) and downloading it from ${env.remoteHost} failed`
          : `loading it from ${this.modelDir} failed`;
      throw new EmbedderUnavailableError(`embedding model ${model} (dtype ${dtype}) is unavailable: ${where}: ${errorText(err)}`, {
        cause: err,
      });
    }
    this.tokenizer = tokenizer;
    this.model = loaded;

    // One real forward pass gives the dimension and proves pooling fits the model's outputs.
    try {
      const [probe] = await this.embedBatch(['dimension probe']);
      this.dim = probe.length;
    } catch (err) {
      await this.dispose();
      throw new EmbedderUnavailableError(`embedding model ${model} loaded but cannot embed: ${errorText(err)}`, { cause: err });
    }
  }

  embedPassages(texts: string[]): Promise<Float32Array[]> {
    return this.embedAll(texts.map((t) => this.settings.passage_prefix + t));
  }

  async embedQuery(text: string): Promise<Float32Array> {
    const [vector] = await this.embedAll([this.settings.query_prefix + text]);
    return vector;
  }

  /** Content tokens of `text` under the model's tokenizer (no [CLS]/[SEP], no prefix). */
  countTokens(text: string): number {
    return this.requireLoaded().tokenizer.encode(text, { add_special_tokens: false }).length;
  }

  async dispose(): Promise<void> {
    const model = this.model;
    this.model = null;
    this.tokenizer = null;
    if (model) await model.dispose();
  }

  private requireLoaded(): { tokenizer: PreTrainedTokenizer; model: PreTrainedModel } {
    if (!this.model || !this.tokenizer) throw new Error(`embedder ${this.id} is not loaded: call load() first`);
    return { tokenizer: this.tokenizer, model: this.model };
  }

  private async embedAll(texts: string[]): Promise<Float32Array[]> {
    this.requireLoaded();
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      out.push(...(await this.embedBatch(texts.slice(i, i + this.batchSize))));
    }
    return out;
  }

  private async embedBatch(texts: string[]): Promise<Float32Array[]> {
    const { tokenizer, model } = this.requireLoaded();
    if (texts.length === 0) return [];
    const inputs = tokenizer(texts, { padding: true, truncation: true, max_length: this.settings.max_tokens });
    const outputs = (await model(inputs)) as Record<string, Tensor>;

    let pooled: Tensor;
    const tokens = outputs.last_hidden_state ?? outputs.token_embeddings ?? outputs.logits;
    switch (this.settings.pooling) {
      case 'mean':
        if (!tokens) throw new Error(`model has no per-token output (outputs: ${Object.keys(outputs).join(', ')})`);
        pooled = mean_pooling(tokens, inputs.attention_mask as Tensor);
        break;
      case 'cls':
        if (!tokens) throw new Error(`model has no per-token output (outputs: ${Object.keys(outputs).join(', ')})`);
        pooled = tokens.slice(null, 0);
        break;
      case 'none': {
        // Models exported with pooling inside the graph give [batch, dim] directly.
        const sentence = outputs.sentence_embedding ?? Object.values(outputs).find((t) => t.dims.length === 2);
        if (!sentence) {
          throw new Error(
            `embedding.pooling=none but the model only outputs per-token tensors (${Object.keys(outputs).join(', ')}); set embedding.pooling to mean or cls`,
          );
        }
        pooled = sentence;
        break;
      }
    }
    if (this.settings.normalize) pooled = pooled.normalize(2, -1);
    if (pooled.type !== 'float32') pooled = pooled.to('float32');

    const [rows, dim] = pooled.dims;
    const data = pooled.data as Float32Array;
    const vectors: Float32Array[] = [];
    // slice() copies, so each vector owns its memory (no view into the batch tensor).
    for (let r = 0; r < rows; r++) vectors.push(data.slice(r * dim, (r + 1) * dim));
    return vectors;
  }
}
