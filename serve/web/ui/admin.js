import { forgetKey, getKey, session } from './api.js';
import { clear, h } from './dom.js';
import { currentLang, setLang, t } from './i18n.js';
import { signIn } from './signin.js';
import { overviewPage } from './admin/overview.js';
import { runsPage } from './admin/runs.js';
import { quarantinePage } from './admin/quarantine.js';
import { documentsPage } from './admin/documents.js';
import { uploadsPage } from './admin/uploads.js';
import { retrievalPage } from './admin/retrieval.js';
import { keysPage } from './admin/keys.js';
import { finetunePage } from './admin/finetune.js';

// The admin console: one page per operator task, chosen by the URL hash (#runs/12 → runs page,
// argument "12"). Each page renders into <main> and may return a cleanup (e.g. a live stream).

const pages = [
  ['overview', overviewPage],
  ['runs', runsPage],
  ['quarantine', quarantinePage],
  ['documents', documentsPage],
  ['uploads', uploadsPage],
  ['retrieval', retrievalPage],
  ['keys', keysPage],
  ['finetune', finetunePage],
];

const content = document.getElementById('content');
const nav = document.getElementById('sidenav');
let cleanup = null;
let ctx = null;
let routeSeq = 0;

function route() {
  const [name = 'overview', ...args] = location.hash.replace(/^#\/?/, '').split('/');
  const entry = pages.find(([n]) => n === name) ?? pages[0];
  for (const a of nav.querySelectorAll('a')) a.toggleAttribute('aria-current', a.dataset.page === entry[0]) && a.setAttribute('aria-current', 'page');
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  clear(content);
  document.title = `${t(entry[0])} · ${t('admin')}`;
  content.dataset.page = entry[0];
  // data-loaded marks THIS route's page as rendered: cleared first (#runs/12 and #runs are both the
  // runs page, so a stale mark would claim the list loaded before it had), and set only by the
  // latest route (an earlier, slower load must not set it for a later one).
  delete content.dataset.loaded;
  const current = ++routeSeq;
  Promise.resolve(entry[1](content, { ...ctx, args: args.map(decodeURIComponent) }))
    .then((c) => (cleanup = c))
    .catch((err) => content.append(h('p.notice.notice-bad', { role: 'alert' }, `${t('errorPrefix')}: ${err.message}`)))
    .finally(() => {
      if (current === routeSeq) content.dataset.loaded = entry[0];
    });
}

async function main() {
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll('[data-t-label]')) el.setAttribute('aria-label', t(el.dataset.tLabel));
  const lang = document.getElementById('lang');
  lang.value = currentLang();
  lang.addEventListener('change', () => setLang(lang.value));
  let sess = await session();
  if (!sess) sess = await signIn();
  while (!sess.scopes.includes('admin')) {
    forgetKey();
    sess = await signIn(t('forbidden'), '/');
  }
  ctx = { session: sess };
  const out = document.getElementById('sign-out');
  out.hidden = !sess.auth || !getKey();
  out.addEventListener('click', () => {
    forgetKey();
    location.href = '/';
  });
  nav.replaceChildren(...pages.map(([n]) => h('a', { href: `#${n}`, dataset: { page: n } }, t(n))));
  window.addEventListener('hashchange', route);
  route();
  document.body.dataset.ready = 'true';
}

main().catch((err) => content.append(h('p.notice.notice-bad', { role: 'alert' }, `${t('errorPrefix')}: ${err.message}`)));
