import fs from 'node:fs';
import path from 'node:path';
import type { Sample, Split } from './types.ts';

// Writes the splits in three shapes:
//   <split>.jsonl           {"messages":[{role,content},...]}  — OpenAI chat fine-tuning format
//                           (top level: the trainer's default train.jsonl / val.jsonl)
//   sharegpt/<split>.json   [{"conversations":[{from,value}],"system":...}] + dataset_info.json
//                           — LLaMA-Factory's sharegpt format, registered as kb_core_<split>
//   samples/<split>.jsonl   the full Sample records (facts, template, citation) for the evaluator

export const SPLITS: readonly Split[] = ['train', 'val', 'test'];
export const DATASET_PREFIX = 'kb_core';

export interface ShareGptRecord {
  conversations: { from: 'human' | 'gpt'; value: string }[];
  system?: string;
}

export function toShareGpt(s: Sample): ShareGptRecord {
  const system = s.messages.find((m) => m.role === 'system')?.content;
  const conversations = s.messages
    .filter((m) => m.role !== 'system')
    .map((m) => ({ from: m.role === 'user' ? ('human' as const) : ('gpt' as const), value: m.content }));
  return system ? { conversations, system } : { conversations };
}

export function datasetInfo(): Record<string, unknown> {
  return Object.fromEntries(
    SPLITS.map((split) => [
      `${DATASET_PREFIX}_${split}`,
      {
        file_name: `${split}.json`,
        formatting: 'sharegpt',
        columns: { messages: 'conversations', system: 'system' },
        tags: { role_tag: 'from', content_tag: 'value', user_tag: 'human', assistant_tag: 'gpt' },
      },
    ]),
  );
}

export function writeExports(outDir: string, splits: Record<Split, Sample[]>): string[] {
  const files: string[] = [];
  const write = (rel: string, text: string) => {
    const f = path.join(outDir, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, text);
    files.push(rel);
  };
  const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
  for (const split of SPLITS) {
    const list = splits[split];
    write(`${split}.jsonl`, jsonl(list.map((s) => ({ messages: s.messages }))));
    write(`sharegpt/${split}.json`, `${JSON.stringify(list.map(toShareGpt), null, 1)}\n`);
    write(`samples/${split}.jsonl`, jsonl(list));
  }
  write('sharegpt/dataset_info.json', `${JSON.stringify(datasetInfo(), null, 2)}\n`);
  return files;
}
