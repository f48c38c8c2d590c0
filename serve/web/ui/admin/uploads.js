import { api } from '../api.js';
import { fmtBytes, fmtDate, h, pill } from '../dom.js';
import { t } from '../i18n.js';
import { uploadZone } from '../upload.js';
import { confirmDialog, table, toast } from './common.js';

// Uploads: drag-and-drop onto the upload API, and what ingestion made of each uploaded file.

const tone = { indexed: 'ok', pending: 'warn', quarantined: 'bad' };

export async function uploadsPage(root, { session }) {
  const list = h('div#uploads-list');
  let timer = null;
  const load = async () => {
    const res = await api('/v1/uploads');
    list.replaceChildren(
      table(
        [
          { label: t('created'), render: (u) => fmtDate(u.created_at, true) },
          {
            label: t('files'),
            render: (u) =>
              h(
                'ul',
                { style: 'margin:0;padding-left:16px' },
                u.documents.map((d, i) =>
                  h('li', d.document_id ? h('a', { href: `#documents/${d.document_id}` }, d.file) : d.file, ' ', h('span.muted', fmtBytes(u.files[i]?.bytes ?? 0)), ' ', pill(t(d.status) === d.status ? d.status : t(d.status), tone[d.status]), d.quarantine ? h('span.muted.small', ` ${d.quarantine.reason}: ${d.quarantine.detail ?? ''}`) : null),
                ),
              ),
          },
          { label: t('groups'), render: (u) => (u.acl_groups.length ? u.acl_groups.map((g) => pill(g, 'info')) : h('span.muted', t('publicOnly'))) },
          { label: t('kind'), key: 'kind' },
          { label: t('uploadedBy'), render: (u) => u.uploaded_by.name ?? '—' },
          {
            label: '',
            render: (u) =>
              h('button.danger', {
                type: 'button',
                onclick: async () => {
                  if (!(await confirmDialog(t('confirmDelete', { name: u.files.map((f) => f.name).join(', ') }), t('delete'), true))) return;
                  try {
                    await api(`/v1/uploads/${u.id}`, { method: 'DELETE' });
                    load();
                  } catch (err) {
                    toast(err.message, true);
                  }
                },
              }, t('delete')),
          },
        ],
        res.data,
      ),
    );
    // While files wait for ingestion, look again shortly.
    clearTimeout(timer);
    if (res.data.some((u) => u.documents.some((d) => d.status === 'pending'))) timer = setTimeout(load, 2000);
  };
  root.append(
    h('h1', t('uploads')),
    h('div.panel', uploadZone({ maxBytes: session.uploads.max_file_bytes, extensions: session.uploads.extensions, onDone: () => load() })),
    list,
  );
  await load();
  return () => clearTimeout(timer);
}
