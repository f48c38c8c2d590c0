import fs from 'node:fs';
import path from 'node:path';
import type { Judgments } from './metrics.ts';

// Reader for BEIR-layout folders: corpus.jsonl {id,title,text}, queries.jsonl {id,text,answers?},
// qrels.tsv (query_id \t doc_id \t grade; an optional header line). Malformed lines are errors
// naming file:line: an evaluation on silently skipped data would report a wrong number.

export interface BeirPassage {
  id: string;
  title: string;
  text: string;
}

export interface BeirQuery {
  id: string;
  text: string;
  answers: string[];
}

export interface BeirDataset {
  name: string;
  dir: string;
  corpus: BeirPassage[];
  /** Queries that have at least one relevant passage, in file order (after --limit). */
  queries: BeirQuery[];
  qrels: Map<string, Judgments>;
  /** Queries in queries.jsonl without any judgment (not evaluated). */
  unjudged: number;
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

function readLines(file: string): string[] {
  if (!fs.existsSync(file)) throw new DatasetError(`${file} not found (expected a BEIR-layout folder: corpus.jsonl, queries.jsonl, qrels.tsv)`);
  return fs.readFileSync(file, 'utf8').split(/\r?\n/);
}

function readJsonl<T>(file: string, check: (v: Record<string, unknown>, where: string) => T): T[] {
  const out: T[] = [];
  readLines(file).forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${path.basename(file)}:${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new DatasetError(`${where}: invalid JSON: ${(err as Error).message}`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DatasetError(`${where}: expected a JSON object`);
    out.push(check(v as Record<string, unknown>, where));
  });
  return out;
}

const idOf = (v: unknown, where: string): string => {
  if (typeof v === 'string' && v) return v;
  if (typeof v === 'number') return String(v);
  throw new DatasetError(`${where}: "id" must be a non-empty string`);
};

export function loadBeir(dir: string, opts: { limit?: number } = {}): BeirDataset {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new DatasetError(`dataset folder ${abs} not found`);
  const corpus = readJsonl(path.join(abs, 'corpus.jsonl'), (v, where) => {
    if (typeof v.text !== 'string') throw new DatasetError(`${where}: "text" must be a string`);
    return { id: idOf(v._id ?? v.id, where), title: typeof v.title === 'string' ? v.title : '', text: v.text };
  });
  const seen = new Set<string>();
  for (const p of corpus) {
    if (seen.has(p.id)) throw new DatasetError(`corpus.jsonl: duplicate passage id "${p.id}"`);
    seen.add(p.id);
  }
  const allQueries = readJsonl(path.join(abs, 'queries.jsonl'), (v, where) => {
    if (typeof v.text !== 'string' || !v.text.trim()) throw new DatasetError(`${where}: "text" must be a non-empty string`);
    const answers = Array.isArray(v.answers) ? v.answers.filter((a): a is string => typeof a === 'string') : [];
    return { id: idOf(v._id ?? v.id, where), text: v.text, answers };
  });

  const qrels = new Map<string, Map<string, number>>();
  readLines(path.join(abs, 'qrels.tsv')).forEach((line, i) => {
    if (!line.trim()) return;
    const cols = line.split('\t');
    const where = `qrels.tsv:${i + 1}`;
    if (i === 0 && !/^-?\d+(\.\d+)?$/.test((cols[2] ?? '').trim())) return; // header line
    if (cols.length < 3) throw new DatasetError(`${where}: expected query_id<TAB>doc_id<TAB>grade`);
    const grade = Number(cols[2]);
    if (!Number.isFinite(grade)) throw new DatasetError(`${where}: grade "${cols[2]}" is not a number`);
    if (!seen.has(cols[1])) throw new DatasetError(`${where}: doc id "${cols[1]}" is not in corpus.jsonl`);
    const m = qrels.get(cols[0]) ?? new Map<string, number>();
    m.set(cols[1], grade);
    qrels.set(cols[0], m);
  });

  let queries = allQueries.filter((q) => [...(qrels.get(q.id)?.values() ?? [])].some((g) => g > 0));
  const unjudged = allQueries.length - queries.length;
  if (opts.limit !== undefined) queries = queries.slice(0, opts.limit);
  return { name: path.basename(abs), dir: abs, corpus, queries, qrels, unjudged };
}
