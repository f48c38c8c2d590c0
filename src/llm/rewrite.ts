import type { ChatMessage, ChatModel } from './chat-model.ts';

// Follow-up questions ("and in 2023?") retrieve badly on their own: rewrite them into a
// standalone question before retrieval — with the LLM when there is one, else by prepending
// the previous user question (which keeps its keywords for BM25 and the embedding).

export interface RewriteResult {
  query: string;
  method: 'none' | 'llm' | 'heuristic';
  /** Why the LLM rewrite was not used, when it failed. */
  error?: string;
}

const TURNS = 6;
const TURN_CHARS = 600;
// Reasoning models spend tokens thinking before they answer; leave them room.
const REWRITE_MAX_TOKENS = 512;

const REWRITE_INSTRUCTIONS =
  "Rewrite the user's last question as a standalone question that can be understood without the conversation: " +
  'resolve pronouns and references (who, what, which period) from the earlier turns. Keep the language of the last question. ' +
  'Do not answer it. Output only the rewritten question.';

function heuristic(previous: string, latest: string): RewriteResult {
  return { query: `${previous.trim()} ${latest.trim()}`, method: 'heuristic' };
}

/**
 * `conversation`: user/assistant turns, oldest first, ending with the latest user question.
 */
export async function standaloneQuestion(
  conversation: ChatMessage[],
  opts: { model: ChatModel | null; enabled: boolean; signal?: AbortSignal },
): Promise<RewriteResult> {
  const latest = conversation[conversation.length - 1]?.content ?? '';
  const earlier = conversation.slice(0, -1);
  const previousUser = [...earlier].reverse().find((m) => m.role === 'user');
  if (!opts.enabled || !previousUser) return { query: latest, method: 'none' };
  if (!opts.model) return heuristic(previousUser.content, latest);

  const transcript = earlier
    .slice(-TURNS)
    .map((m) => `${m.role === 'user' ? 'User' : 'Assistant'}: ${m.content.length > TURN_CHARS ? `${m.content.slice(0, TURN_CHARS)}…` : m.content}`)
    .join('\n');
  try {
    const res = await opts.model.complete({
      messages: [
        { role: 'system', content: REWRITE_INSTRUCTIONS },
        { role: 'user', content: `Conversation:\n${transcript}\n\nLast question: ${latest}\n\nStandalone question:` },
      ],
      maxTokens: REWRITE_MAX_TOKENS,
      temperature: 0,
      signal: opts.signal,
    });
    const line = res.content
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean)
      ?.replace(/^(standalone question|question|问题)\s*[:：]\s*/i, '')
      .replace(/^["'“”「」]+|["'“”「」]+$/g, '')
      .trim();
    if (!line) return { ...heuristic(previousUser.content, latest), error: 'the model returned no rewrite' };
    return { query: line, method: 'llm' };
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    return { ...heuristic(previousUser.content, latest), error: (err as Error).message };
  }
}
