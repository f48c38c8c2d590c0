// Is an answer a refusal ("the records do not contain that")? Used for refusal accuracy on the
// no-record test samples and the false-refusal rate on answerable ones. The patterns cover the
// refusal templates of `kb finetune prepare` (finetune.templates.refusal) and the chat server's
// grounding rule ("the knowledge base does not contain it"), in English and Chinese; config can
// add more (finetune_runs.eval.refusal_patterns).

const EN = /\b(no records?\b|(?:does|do) not (?:include|cover|contain|have|mention)|don't (?:have|know)|do not (?:have|know)|can(?:'|no)t (?:tell|answer|find|provide)|cannot (?:tell|answer|find|provide)|unable to (?:find|answer|provide)|no (?:information|data|mention)\b|not (?:available|found|mentioned) in|isn't (?:in|covered)|is not (?:in|covered))/i;
const ZH = /(没有(?:名为|相关|关于|找到|记录|该|这)|记录中(?:没有|未)|不包含|未包含|无法(?:提供|回答|找到|确定|告知)|未(?:找到|提及|记载)|找不到|并无|暂无|不清楚|没有.{0,12}(?:信息|记录|数据|资料))/;

export function compileRefusalPatterns(extra: readonly string[] = []): RegExp[] {
  return [EN, ZH, ...extra.map((p) => new RegExp(p, 'i'))];
}

export function isRefusal(answer: string, patterns: readonly RegExp[] = compileRefusalPatterns()): boolean {
  return patterns.some((p) => p.test(answer));
}
