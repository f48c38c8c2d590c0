// Token counting for prompt packing uses the shared estimate (src/text/tokens.ts); the chat
// model's tokenizer is not available in-process, and the estimate over-counts CJK, which is the
// safe direction for staying inside the model's context.
export { estimateTokens } from '../text/tokens.ts';

const CJK_RE = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]/g;

/** 'zh' when CJK characters make up a fair share of the letters, else 'en' (the two corpus languages). */
export function detectLanguage(text: string): 'zh' | 'en' {
  const cjk = text.match(CJK_RE)?.length ?? 0;
  const latin = text.match(/[A-Za-z]/g)?.length ?? 0;
  // One CJK character carries about as much as a 4-letter word.
  return cjk > 0 && cjk * 4 >= latin ? 'zh' : 'en';
}
