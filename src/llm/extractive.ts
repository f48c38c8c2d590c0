import type { ContextBlock } from './prompt.ts';
import { bestExcerpt } from './passages.ts';
import { detectLanguage } from './tokens.ts';

// Extractive mode: without a usable generator the answer is the best passages, quoted with
// their citation numbers, under a plain statement of why no generated answer is given.

export type ExtractiveReason =
  | { kind: 'no_generator' }
  | { kind: 'upstream_unavailable'; detail: string }
  | { kind: 'retrieval_disabled' };

function statement(reason: ExtractiveReason, lang: 'zh' | 'en', found: boolean): string {
  if (lang === 'zh') {
    const why =
      reason.kind === 'no_generator'
        ? '未配置生成模型（LLM）'
        : reason.kind === 'upstream_unavailable'
          ? `生成模型暂时无法访问（${reason.detail}）`
          : '未配置生成模型，且本次请求关闭了检索';
    if (reason.kind === 'retrieval_disabled') return `${why}，因此无法回答。`;
    return found ? `${why}，以下是抽取式回答：知识库中与问题最相关的段落，附出处编号。` : `${why}，且知识库中没有找到与问题相关的段落。`;
  }
  const why =
    reason.kind === 'no_generator'
      ? 'No generator (LLM) is configured'
      : reason.kind === 'upstream_unavailable'
        ? `The generator (LLM) is unavailable right now (${reason.detail})`
        : 'No generator (LLM) is configured and retrieval was turned off for this request';
  if (reason.kind === 'retrieval_disabled') return `${why}, so there is nothing to answer from.`;
  return found
    ? `${why}, so this is an extractive answer: the passages of the knowledge base most relevant to the question, with their citation numbers.`
    : `${why}, and the knowledge base has no passages matching the question.`;
}

export interface ExtractiveAnswer {
  content: string;
  /** Blocks quoted (these are the citations). */
  quoted: ContextBlock[];
}

export function extractiveAnswer(opts: {
  question: string;
  blocks: ContextBlock[];
  reason: ExtractiveReason;
  maxPassages: number;
  excerptChars: number;
}): ExtractiveAnswer {
  const lang = detectLanguage(opts.question);
  const quoted = opts.reason.kind === 'retrieval_disabled' ? [] : opts.blocks.slice(0, opts.maxPassages);
  const lines = [statement(opts.reason, lang, quoted.length > 0)];
  for (const b of quoted) {
    const excerpt = bestExcerpt(b.passages.join('\n'), opts.question, opts.excerptChars);
    lines.push(`[${b.index}] ${b.title || '(untitled)'}\n> ${excerpt}`);
  }
  return { content: lines.join('\n\n'), quoted };
}
