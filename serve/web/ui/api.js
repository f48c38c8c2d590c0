// API access for the pages: the key lives in sessionStorage (or localStorage when "remember" is
// ticked) and travels only in the Authorization header — never in a URL, so it cannot leak into
// logs, history or Referer headers.

const STORE_KEY = 'kb.apiKey';

export function getKey() {
  return sessionStorage.getItem(STORE_KEY) || localStorage.getItem(STORE_KEY) || '';
}

export function setKey(key, remember) {
  forgetKey();
  (remember ? localStorage : sessionStorage).setItem(STORE_KEY, key);
}

export function forgetKey() {
  sessionStorage.removeItem(STORE_KEY);
  localStorage.removeItem(STORE_KEY);
}

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code ?? null;
    this.type = e.type ?? null;
    this.param = e.param ?? null;
  }
}

function headers(extra = {}) {
  const h = { ...extra };
  const key = getKey();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

/** fetch + JSON + OpenAI-shaped errors → ApiError. `body` objects are sent as JSON, FormData as is. */
export async function api(path, { method = 'GET', body, signal, raw = false } = {}) {
  const init = { method, signal, headers: headers() };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  const res = await fetch(path, init);
  if (raw) {
    if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
    return res;
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/**
 * Reads a server-sent-events response (fetch, so the key goes in a header) and calls
 * onEvent({event, data}) per event; `data` is parsed JSON, or the raw text ([DONE]).
 */
export async function readSse(res, onEvent) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let sep;
    while ((sep = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, sep);
      buf = buf.slice(sep).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (!data.length) continue;
      const text = data.join('\n');
      let parsed = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* [DONE] and other plain text */
      }
      onEvent({ event, data: parsed });
    }
  }
}

/** GET /v1/session; null when a key is needed (and not given or not valid). */
export async function session() {
  try {
    return await api('/v1/session');
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}
