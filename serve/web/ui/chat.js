import { api, ApiError, forgetKey, getKey, readSse, session } from './api.js';
import { clear, fmtDate, h } from './dom.js';
import { currentLang, setLang, t } from './i18n.js';
import { notices } from './notices.js';
import { openPassage } from './passage.js';
import { renderAnswer } from './render.js';
import { signIn } from './signin.js';
import { uploadZone } from './upload.js';

// The chat page: pick an assistant, ask, watch the answer stream with numbered citations that
// open the cited passage; follow-ups keep the conversation; degraded modes are said in words.

const els = {
  assistant: document.getElementById('assistant'),
  log: document.getElementById('log'),
  form: document.getElementById('composer'),
  input: document.getElementById('question'),
  send: document.getElementById('send'),
  stop: document.getElementById('stop'),
  newChat: document.getElementById('new-chat'),
  adminLink: document.getElementById('admin-link'),
  signOut: document.getElementById('sign-out'),
  lang: document.getElementById('lang'),
  uploadBtn: document.getElementById('upload-toggle'),
  uploadPanel: document.getElementById('upload-panel'),
};

/** The conversation sent with each question (follow-ups are rewritten server-side). */
let history = [];
let inflight = null;
let sess = null;

function applyStaticText() {
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll('[data-t-placeholder]')) el.placeholder = t(el.dataset.tPlaceholder);
  for (const el of document.querySelectorAll('[data-t-label]')) el.setAttribute('aria-label', t(el.dataset.tLabel));
  document.title = t('brand');
}

function emptyState() {
  clear(els.log).append(h('div.empty', h('h2', t('emptyTitle')), h('p.muted', t('emptyHelp'))));
}

function sourceList(citations) {
  if (!citations.length) return h('p.muted.small', t('noSources'));
  return h(
    'ol.sources',
    citations.map((c) =>
      h(
        'li',
        { value: c.index },
        h(
          'button.source-link',
          { type: 'button', dataset: { cite: String(c.index) }, onclick: (e) => openPassage(c, e.currentTarget) },
          h('span.source-title', c.title || `#${c.doc_id}`),
        ),
        h('span.source-meta', [c.source, c.kind, c.published_at ? fmtDate(c.published_at) : null].filter(Boolean).join(' · ')),
        c.snippet ? h('span.snippet', c.snippet) : null,
      ),
    ),
  );
}

function copyButton(text) {
  const btn = h('button.copy', {
    type: 'button',
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text);
        btn.textContent = t('copied');
      } catch {
        // No clipboard permission (e.g. plain http on another host): select the text instead.
        const range = document.createRange();
        range.selectNodeContents(btn.parentElement.querySelector('.answer'));
        getSelection().removeAllRanges();
        getSelection().addRange(range);
      }
    },
  }, t('copy'));
  return btn;
}

function addUser(text) {
  els.log.querySelector('.empty')?.remove();
  els.log.append(h('article.msg.user', { 'aria-label': t('you') }, h('div.bubble', text)));
}

function addAssistant() {
  const status = h('p.status', { role: 'status' }, h('span.spinner', { 'aria-hidden': 'true' }), ' ', t('thinking'));
  const reasoningText = h('div.reasoning-text');
  const reasoning = h('details.reasoning', { hidden: true }, h('summary', t('reasoning')), reasoningText);
  const body = h('div.answer');
  const notes = h('div.notices');
  const sources = h('section.sources-wrap', { hidden: true, 'aria-label': t('sources') }, h('h3', t('sources')));
  const card = h('article.msg.assistant', status, notes, reasoning, body, sources);
  els.log.append(card);
  card.scrollIntoView({ block: 'end' });
  return { card, status, reasoning, reasoningText, body, notes, sources };
}

function setBusy(busy) {
  els.send.hidden = busy;
  els.stop.hidden = !busy;
  els.input.setAttribute('aria-busy', String(busy));
}

/** Wires citation buttons of one answer to its citations (known once the final chunk arrived). */
function citationLinks(ui, byIndex) {
  const onCite = (n) => {
    const c = byIndex.get(n);
    const btn = ui.body.querySelector(`button.cite[data-cite="${n}"]`);
    if (c) openPassage(c, btn);
  };
  return (content) => renderAnswer(ui.body, content, onCite, (n) => byIndex.size === 0 || byIndex.has(n));
}

/** The finished state of an answer: text with citations, notices, sources, copy. */
function finish(ui, turn) {
  const byIndex = new Map(turn.citations.map((c) => [c.index, c]));
  ui.status.hidden = true;
  if (turn.reasoning) {
    ui.reasoning.hidden = false;
    ui.reasoningText.textContent = turn.reasoning;
  }
  citationLinks(ui, byIndex)(turn.content);
  for (const n of notices(turn.kb)) ui.notes.append(h(`p.notice.notice-${n.tone}`, { role: 'note' }, n.text));
  ui.sources.hidden = false;
  ui.sources.append(sourceList(turn.citations));
  ui.card.append(copyButton(turn.content));
}

// The conversation survives a reload of the tab (sessionStorage: gone when the tab closes).
const SAVE_KEY = 'kb.chat';
let turns = [];
function save() {
  try {
    sessionStorage.setItem(SAVE_KEY, JSON.stringify({ assistant: els.assistant.value, turns }));
  } catch {
    /* storage full or disabled: the conversation just won't survive a reload */
  }
}
function restore() {
  let saved;
  try {
    saved = JSON.parse(sessionStorage.getItem(SAVE_KEY) ?? 'null');
  } catch {
    saved = null;
  }
  if (!saved?.turns?.length) return;
  if ([...els.assistant.options].some((o) => o.value === saved.assistant)) els.assistant.value = saved.assistant;
  turns = saved.turns;
  for (const turn of turns) {
    addUser(turn.question);
    finish(addAssistant(), turn);
    history.push({ role: 'user', content: turn.question }, { role: 'assistant', content: turn.content });
  }
}

async function ask(question) {
  addUser(question);
  history.push({ role: 'user', content: question });
  const ui = addAssistant();
  const ctrl = new AbortController();
  inflight = ctrl;
  setBusy(true);
  let content = '';
  let reasoning = '';
  let citations = [];
  let kb = null;
  const draw = citationLinks(ui, new Map());
  try {
    const res = await api('/v1/chat/completions', {
      method: 'POST',
      raw: true,
      signal: ctrl.signal,
      body: { model: els.assistant.value, stream: true, messages: history },
    });
    // A redraw waiting for the next frame; cancelled once the answer is final, or it would fire
    // after finish() and put back citation buttons that know no citations (a click opened nothing).
    let frame = 0;
    await readSse(res, ({ data }) => {
      if (data === '[DONE]' || typeof data !== 'object') return;
      if (data.error) throw new Error(t('streamFailed', { msg: data.error.message }));
      if (data.citations) citations = data.citations;
      if (data.kb) kb = data.kb;
      const d = data.choices?.[0]?.delta ?? {};
      if (d.reasoning_content) {
        reasoning += d.reasoning_content;
        ui.reasoning.hidden = false;
        ui.reasoningText.textContent = reasoning;
      }
      if (d.content) {
        content += d.content;
        ui.status.hidden = true;
        // Redraw at most once per frame: long answers stay smooth.
        if (!frame) {
          frame = requestAnimationFrame(() => {
            frame = 0;
            draw(content);
          });
        }
      }
    });
    cancelAnimationFrame(frame);
    const turn = { question, content, reasoning, citations, kb };
    finish(ui, turn);
    if (kb?.mode === 'generated') ui.card.classList.add('generated');
    history.push({ role: 'assistant', content });
    turns.push(turn);
    save();
  } catch (err) {
    ui.status.hidden = true;
    if (err.name === 'AbortError') {
      draw(content);
      if (content) history.push({ role: 'assistant', content });
      else history.pop();
    } else {
      if (err instanceof ApiError && err.status === 401) {
        forgetKey();
        sess = await signIn(err.message);
      }
      ui.notes.append(h('p.notice.notice-bad', { role: 'alert' }, `${t('errorPrefix')}: ${err.message}`));
      history.pop();
    }
  } finally {
    inflight = null;
    setBusy(false);
    els.input.focus();
  }
}

function setupComposer() {
  els.form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = els.input.value.trim();
    if (!q || inflight) return;
    els.input.value = '';
    autosize();
    ask(q);
  });
  const autosize = () => {
    els.input.style.height = 'auto';
    els.input.style.height = `${Math.min(els.input.scrollHeight, 240)}px`;
  };
  els.input.addEventListener('input', autosize);
  els.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      els.form.requestSubmit();
    } else if (e.key === 'Escape' && inflight) {
      inflight.abort();
    }
  });
  els.stop.addEventListener('click', () => inflight?.abort());
  els.newChat.addEventListener('click', () => {
    inflight?.abort();
    history = [];
    turns = [];
    sessionStorage.removeItem(SAVE_KEY);
    emptyState();
    els.input.focus();
  });
}

async function main() {
  applyStaticText();
  els.lang.value = currentLang();
  els.lang.addEventListener('change', () => setLang(els.lang.value));
  emptyState();
  setupComposer();
  sess = await session();
  if (!sess) sess = await signIn();
  els.assistant.replaceChildren(...sess.assistants.map((a) => h('option', { value: a.id }, a.description ? `${a.id} — ${a.description}` : a.id)));
  const remembered = localStorage.getItem('kb.assistant');
  if (remembered && sess.assistants.some((a) => a.id === remembered)) els.assistant.value = remembered;
  els.assistant.addEventListener('change', () => localStorage.setItem('kb.assistant', els.assistant.value));
  restore();
  els.adminLink.hidden = !sess.scopes.includes('admin');
  els.signOut.hidden = !sess.auth || !getKey();
  els.signOut.addEventListener('click', () => {
    forgetKey();
    location.reload();
  });
  if (sess.uploads.enabled && (sess.scopes.includes('upload') || sess.scopes.includes('admin'))) {
    els.uploadBtn.hidden = false;
    els.uploadPanel.append(uploadZone({ maxBytes: sess.uploads.max_file_bytes, extensions: sess.uploads.extensions, groups: (sess.key?.groups ?? []).join(', ') }));
    els.uploadBtn.addEventListener('click', () => {
      els.uploadPanel.hidden = !els.uploadPanel.hidden;
      els.uploadBtn.setAttribute('aria-expanded', String(!els.uploadPanel.hidden));
    });
  }
  document.body.dataset.ready = 'true';
  els.input.focus();
}

main().catch((err) => {
  document.body.append(h('p.notice.notice-bad', { role: 'alert' }, `${t('errorPrefix')}: ${err.message}`));
});
