// Splits a model's streamed output into reasoning (inside <think>…</think>) and content, even
// when a tag is cut across chunks at any position: a chunk's tail that could be the start of a
// tag is held back until the next chunk (or flush) decides it.

export interface SplitText {
  content: string;
  reasoning: string;
}

const OPEN = '<think>';
const CLOSE = '</think>';

export interface ThinkFilterOptions {
  /**
   * Start inside the reasoning block: for chat templates that put `<think>` in the prompt, so
   * the output only carries the closing tag (DeepSeek-R1 distills without a reasoning parser).
   */
  startInThink?: boolean;
}

export class ThinkFilter {
  private inThink: boolean;
  private held = '';
  /** After `</think>` the model usually emits blank lines before the answer: trim them. */
  private trimContentStart = true;
  private trimReasoningStart = true;

  constructor(opts: ThinkFilterOptions = {}) {
    this.inThink = opts.startInThink ?? false;
  }

  push(text: string): SplitText {
    const out: SplitText = { content: '', reasoning: '' };
    let buf = this.held + text;
    this.held = '';
    for (;;) {
      // Outside a block we look for `<think>`; a stray `</think>` is dropped too, so a tag never
      // reaches the content. Inside a block only `</think>` matters.
      const tags = this.inThink ? [CLOSE] : [OPEN, CLOSE];
      let at = -1;
      let tag = '';
      for (const t of tags) {
        const i = buf.indexOf(t);
        if (i !== -1 && (at === -1 || i < at)) {
          at = i;
          tag = t;
        }
      }
      if (at === -1) {
        const keep = partialTagSuffix(buf, tags);
        this.emit(out, buf.slice(0, buf.length - keep));
        this.held = buf.slice(buf.length - keep);
        return out;
      }
      this.emit(out, buf.slice(0, at));
      buf = buf.slice(at + tag.length);
      if (tag === OPEN) {
        this.inThink = true;
        this.trimReasoningStart = true;
      } else {
        this.inThink = false;
        this.trimContentStart = true;
      }
    }
  }

  /** Ends the stream: held text that never became a tag is ordinary text. */
  flush(): SplitText {
    const out: SplitText = { content: '', reasoning: '' };
    this.emit(out, this.held);
    this.held = '';
    return out;
  }

  private emit(out: SplitText, text: string): void {
    if (!text) return;
    if (this.inThink) {
      if (this.trimReasoningStart) {
        text = text.replace(/^\s+/, '');
        if (text) this.trimReasoningStart = false;
      }
      out.reasoning += text;
    } else {
      if (this.trimContentStart) {
        text = text.replace(/^\s+/, '');
        if (text) this.trimContentStart = false;
      }
      out.content += text;
    }
  }
}

/** Length of the longest suffix of `s` that is a proper prefix of one of `tags`. */
function partialTagSuffix(s: string, tags: string[]): number {
  let best = 0;
  for (const t of tags) {
    for (let n = Math.min(t.length - 1, s.length); n > best; n--) {
      if (s.endsWith(t.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}

/** Splits a complete text in one go. */
export function splitThink(text: string, opts: ThinkFilterOptions = {}): SplitText {
  const f = new ThinkFilter(opts);
  const a = f.push(text);
  const b = f.flush();
  return { content: a.content + b.content, reasoning: a.reasoning + b.reasoning };
}
