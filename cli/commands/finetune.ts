import fs from 'node:fs';
import { openRetriever } from '../../src/retrieval/open.ts';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { openContext } from '../context.ts';
import { listPresets, parseMethod, plan, readThroughputFile, seqLenFor, type Method, type Plan } from '../../finetune/plan/index.ts';
import { prepareDataset } from '../../finetune/prepare/index.ts';
import { augmentFromConfig } from '../../finetune/prepare/augment-config.ts';
import { findDatasetReport } from '../../finetune/plan/dataset-size.ts';

// `kb finetune prepare` (training set from the core records) and `kb finetune plan` (memory,
// fit, hyper-parameters, time and cost). The other finetune subcommands live in finetune-runs.ts;
// both files share the one `finetune` command group.

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(`${s}\n`);

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}
function integer(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be an integer');
  return n;
}
function onOff(v: string): boolean {
  if (v !== 'on' && v !== 'off') throw new InvalidArgumentError('must be on or off');
  return v === 'on';
}
function method(v: string): Method {
  try {
    return parseMethod(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}


export function registerFinetuneGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'finetune') ?? program.command('finetune').description('LoRA fine-tuning: prepare, plan, train, eval, deploy');
}

export function register(program: Command): void {
  const ft = registerFinetuneGroup(program);

  ft.command('prepare')
    .description('build the LoRA training set from the core records (Q&A, relations, refusals, RAFT) with a quality report')
    .option('--out <dir>', 'output folder (default: <data_dir>/<finetune.dataset_dir>)')
    .option('--seed <n>', 'seed (default: finetune.seed)', integer)
    .option('--no-retriever', 'take RAFT passages from the BM25 index directly instead of the hybrid retriever')
    .option('--json', 'print {"out_dir","samples","by_kind","tokens","warnings"}')
    .action(async (opts: { out?: string; seed?: number; retriever: boolean; json?: boolean }) => {
      const ctx = openContext();
      let retriever: Awaited<ReturnType<typeof openRetriever>> | null = null;
      try {
        const { config } = ctx;
        if (opts.retriever) {
          try {
            retriever = await openRetriever(config, ctx.db, ctx.log);
          } catch (e) {
            err(`kb: retriever unavailable (${(e as Error).message}); RAFT passages come from BM25 directly`);
          }
        }
        const outDir = path.resolve(opts.out ?? path.join(config.data_dir, config.finetune.dataset_dir));
        const s = await prepareDataset({
          db: ctx.db,
          core: config.core,
          finetune: config.finetune,
          outDir,
          seed: opts.seed,
          retriever: retriever?.retriever ?? null,
          modelsDir: path.join(config.data_dir, 'models'),
          augment: augmentFromConfig(config, outDir, ctx.log),
        });
        if (opts.json) return out(JSON.stringify({ out_dir: s.out_dir, samples: s.samples, by_kind: s.by_kind, tokens: s.tokens, warnings: s.warnings }));
        out(`dataset written to ${s.out_dir}`);
        out(`  samples  train ${s.samples.train} · val ${s.samples.val} · test ${s.samples.test}`);
        out(`  kinds    ${Object.entries(s.by_kind).map(([k, n]) => `${k} ${n}`).join(' · ')}`);
        out(`  tokens   train ${s.tokens.train.total} (mean ${s.tokens.train.mean}, p95 ${s.tokens.train.p95}, max ${s.tokens.train.max}; ${s.tokens.counter})`);
        out(`  report   ${path.join(s.out_dir, 'report.md')}`);
        for (const w of s.warnings) out(`  warning: ${w}`);
      } finally {
        await retriever?.close();
        ctx.close();
      }
    });

  ft.command('plan')
    .description('memory, fit, recommended hyper-parameters, time and cost of a LoRA/QLoRA run')
    .option('--model <id>', 'model preset (default: finetune.base_model)')
    .option('--method <method>', 'lora | qlora-8bit | qlora-4bit', method, 'lora' as Method)
    .option('--gpu <id>', 'GPU preset', 'a100-80g')
    .option('--batch <n>', 'micro-batch (default: recommended, shrunk until it fits)', positiveInt)
    .option('--seq-len <n>', 'sequence length (default: from the dataset report, else 1024)', positiveInt)
    .option('--rank <n>', 'LoRA rank (default: recommended)', positiveInt)
    .option('--gc <on|off>', 'gradient checkpointing (default: off when it fits without)', onOff)
    .option('--tokens <n>', 'training tokens per epoch (default: from the dataset report)', positiveInt)
    .option('--epochs <n>', 'epochs (default: finetune.planner.epochs)', positiveInt)
    .option('--dataset <dir>', 'prepared dataset folder to size from (default: <data_dir>/<finetune.dataset_dir>)')
    .option('--list', 'list the model and GPU presets')
    .option('--json', 'print {"fits","memory_gb","recommended","time_hours","cost",...}')
    .action((opts: { model?: string; method: Method; gpu: string; batch?: number; seqLen?: number; rank?: number; gc?: boolean; tokens?: number; epochs?: number; dataset?: string; list?: boolean; json?: boolean }) => {
      const ctx = openContext();
      try {
        const { config } = ctx;
        const pc = config.finetune.planner;
        if (opts.list) {
          const l = listPresets();
          if (opts.json) return out(JSON.stringify({ ...l, prices: pc.gpu_prices_per_hour, currency: pc.currency }));
          out('models');
          for (const m of l.models) out(`  ${m.id.padEnd(30)} ${String(m.params_b).padStart(6)}B  ${m.layers} layers  hidden ${m.hidden}  context ${m.context_length}  (${m.architecture})`);
          out('gpus');
          for (const g of l.gpus)
            out(`  ${g.id.padEnd(14)} ${String(g.memory_gb).padStart(3)} GB  ${String(g.tflops_16bit).padStart(6)} TFLOP/s 16-bit${g.bf16 ? '' : ' (no bf16)'}  ${pc.gpu_prices_per_hour[g.id] ?? '?'} ${pc.currency}/h  ${g.name}`);
          return;
        }
        const report = findDatasetReport(path.resolve(opts.dataset ?? path.join(config.data_dir, config.finetune.dataset_dir)));
        const tokens = report ? (JSON.parse(fs.readFileSync(report, 'utf8')) as { tokens?: { train?: { total?: number; max?: number } } }).tokens?.train : undefined;
        const p: Plan = plan({
          model: opts.model ?? config.finetune.base_model,
          method: opts.method,
          gpu: opts.gpu,
          rank: opts.rank,
          batch: opts.batch,
          seqLen: opts.seqLen ?? (tokens?.max ? seqLenFor(tokens.max) : undefined),
          gradientCheckpointing: opts.gc,
          datasetTokens: opts.tokens ?? tokens?.total ?? null,
          epochs: opts.epochs ?? pc.epochs,
          utilization: pc.utilization,
          prices: pc.gpu_prices_per_hour,
          currency: pc.currency,
          measured: readThroughputFile(path.join(config.data_dir, 'finetune', 'throughput.json')),
        });
        if (report && !opts.tokens) p.notes.push(`dataset size from ${report}`);
        if (opts.json) return out(JSON.stringify(p));
        const m = p.memory_gb;
        out(`${p.model.id} · ${p.method} · ${p.gpu.id}: ${p.fits ? 'FITS' : 'DOES NOT FIT'} (${m.total} of ${m.gpu} GB)`);
        out(`  memory GB  weights ${m.weights} · LoRA ${m.lora_params} · optimizer+grads ${m.optimizer_and_grads} · activations ${m.activations} · logits ${m.logits} · overhead ${m.overhead}`);
        const r = p.recommended;
        out(`  settings   rank ${r.rank} (alpha ${r.alpha}) · lr ${r.learning_rate} · micro-batch ${r.micro_batch} × accumulation ${r.gradient_accumulation} = ${r.effective_batch} · seq ${r.seq_len} · checkpointing ${r.gradient_checkpointing ? 'on' : 'off'} · ${r.precision} · ${r.epochs} epochs`);
        out(`  throughput ${p.throughput.tokens_per_second} tokens/s (${p.throughput.source})`);
        out(`  time       ${p.time_hours == null ? 'unknown' : `${p.time_hours} h for ${p.dataset_tokens} tokens × ${p.epochs} epochs`}`);
        out(`  cost       ${p.cost.total == null ? 'unknown' : `${p.cost.total} ${p.cost.currency} at ${p.cost.per_hour}/h`}`);
        for (const n of p.notes) out(`  note: ${n}`);
        if (!p.fits) process.exitCode = 1;
      } finally {
        ctx.close();
      }
    });
}
