import fs from 'node:fs';
import path from 'node:path';
import { AutoModelForSequenceClassification, AutoTokenizer, env, type PreTrainedModel, type PreTrainedTokenizer, type Tensor } from '@huggingface/transformers';
import type { RerankConfig } from '../config/sections/rerank.ts';
import { DTYPE_FILE_SUFFIX } from '../embeddings/local.ts';
import { RerankerUnavailableError, type Reranker } from './types.ts';

// In-process cross-encoder (transformers.js, ONNX Runtime on CPU): a sequence-classification
// model such as bge-reranker-base or ms-marco-MiniLM reads "[CLS] query [SEP] passage [SEP]" and
// outputs one relevance logit per pair. Models live under <data_dir>/models/<id>/ like the
// embedding models (downloaded there when rerank.local.allow_remote is true).

export class LocalReranker implements Reranker {
  readonly id: string;
  private tokenizer: PreTrainedTokenizer | null = null;
  private model: PreTrainedModel | null = null;
  private readonly modelDir: string;

  constructor(
    private readonly settings: RerankConfig['local'],
    private readonly modelsDir: string,
  ) {
    this.id = `local:${settings.model}@${settings.dtype}`;
    this.modelDir = path.isAbsolute(settings.model) ? settings.model : path.join(modelsDir, settings.model);
  }

  missingFiles(): string[] {
    const files = ['config.json', 'tokenizer.json', 'tokenizer_config.json', `onnx/model${DTYPE_FILE_SUFFIX[this.settings.dtype]}.onnx`];
    return files.filter((f) => !fs.existsSync(path.join(this.modelDir, f)));
  }

  async load(): Promise<void> {
    if (this.model) return;
    const { model, dtype, allow_remote } = this.settings;
    const missing = this.missingFiles();
    if (missing.length > 0 && !allow_remote) {
      throw new RerankerUnavailableError(
        `reranker model ${model} (dtype ${dtype}) not found: missing ${missing.map((f) => path.join(this.modelDir, f)).join(', ')}; ` +
          `copy the model folder there or set rerank.local.allow_remote=true`,
      );
    }
    // transformers.js configuration is process-global; set it right before each load.
    env.allowLocalModels = true;
    env.allowRemoteModels = allow_remote;
    env.localModelPath = this.modelsDir;
    env.cacheDir = this.modelsDir;
    try {
      const opts = { cache_dir: this.modelsDir, local_files_only: !allow_remote };
      const [tokenizer, loaded] = await Promise.all([
        AutoTokenizer.from_pretrained(model, opts),
        AutoModelForSequenceClassification.from_pretrained(model, { ...opts, dtype, device: 'cpu' }),
      ]);
      this.tokenizer = tokenizer;
      this.model = loaded;
    } catch (err) {
      throw new RerankerUnavailableError(`reranker model ${model} (dtype ${dtype}) could not be loaded from ${this.modelDir}: ${(err as Error).message}`, { cause: err });
    }
  }

  async score(query: string, passages: readonly string[], signal?: AbortSignal): Promise<number[]> {
    if (!this.model || !this.tokenizer) throw new RerankerUnavailableError(`reranker ${this.id} is not loaded`);
    const out: number[] = [];
    const { batch_size, max_length } = this.settings;
    for (let i = 0; i < passages.length; i += batch_size) {
      // The budget may run out between batches: stop spending CPU on an answer nobody waits for.
      if (signal?.aborted) throw new Error('reranking aborted');
      const batch = passages.slice(i, i + batch_size);
      const inputs = this.tokenizer(new Array<string>(batch.length).fill(query), { text_pair: [...batch], padding: true, truncation: true, max_length });
      const { logits } = (await this.model(inputs)) as { logits: Tensor };
      const [rows, cols] = logits.dims as number[];
      const data = logits.data as Float32Array;
      // One logit per pair (bge-reranker, ms-marco); a 2-class head scores the "relevant" class.
      for (let r = 0; r < rows; r++) out.push(Number(data[r * cols + cols - 1]));
    }
    return out;
  }

  async dispose(): Promise<void> {
    const model = this.model;
    this.model = null;
    this.tokenizer = null;
    if (model) await model.dispose();
  }
}
