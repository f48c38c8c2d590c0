import { api } from './api.js';
import { fmtBytes, h } from './dom.js';
import { t } from './i18n.js';

// Drag-and-drop upload onto POST /v1/uploads (multipart). The server decides which file types
// it ingests (the folder source's formats) and answers 415 for others.

/** A drop zone; onDone(result) after each upload. `groups` prefills the ACL field; `extensions` come from the server. */
export function uploadZone({ maxBytes, extensions = [], groups = '', onDone = () => {} }) {
  const fileInput = h('input', { type: 'file', multiple: true, hidden: true, id: 'upload-input', accept: extensions.join(',') || undefined, 'aria-label': t('file') });
  const aclInput = h('input#upload-acl', { type: 'text', value: groups, placeholder: 'sales, hr', 'aria-label': t('aclGroups') });
  const status = h('p.upload-status', { role: 'status', 'aria-live': 'polite' });
  const zone = h(
    'div.dropzone',
    { tabindex: '0', role: 'button', 'aria-describedby': 'drop-help', onclick: () => fileInput.click(), onkeydown: (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), fileInput.click()) },
    h('strong', t('dropFiles')),
    h('span#drop-help.muted', t('dropHelp', { exts: extensions.join(' '), size: fmtBytes(maxBytes ?? 20 * 1024 * 1024) })),
  );
  const send = async (files) => {
    if (!files.length) return;
    const form = new FormData();
    if (aclInput.value.trim()) form.append('acl_groups', aclInput.value.trim());
    for (const f of files) form.append('file', f, f.name);
    status.className = 'upload-status';
    status.textContent = `${t('loading')} ${[...files].map((f) => f.name).join(', ')}`;
    try {
      const r = await api('/v1/uploads', { method: 'POST', body: form });
      status.textContent = t('uploadStarted', { n: r.files.length, status: r.ingestion.run_id ? `#${r.ingestion.run_id} ${t('running')}` : r.ingestion.status });
      status.classList.add('ok');
      onDone(r);
    } catch (err) {
      status.textContent = `${t('errorPrefix')}: ${err.message}`;
      status.classList.add('error');
    }
  };
  fileInput.addEventListener('change', () => {
    send([...fileInput.files]);
    fileInput.value = '';
  });
  for (const ev of ['dragenter', 'dragover']) {
    zone.addEventListener(ev, (e) => {
      e.preventDefault();
      zone.classList.add('over');
    });
  }
  for (const ev of ['dragleave', 'drop']) zone.addEventListener(ev, () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    send([...e.dataTransfer.files]);
  });
  return h('div.upload', zone, fileInput, h('label.inline', { for: 'upload-acl' }, t('aclGroups')), aclInput, status);
}
