import { api } from '../api.js';
import { fmtDate, h, pill } from '../dom.js';
import { t } from '../i18n.js';
import { confirmDialog, field, table, toast } from './common.js';

// API keys: create (the secret is shown once), list, revoke.

const SCOPES = ['chat', 'retrieve', 'upload', 'admin'];

export async function keysPage(root, { session }) {
  const list = h('div#keys-list');
  const secretBox = h('div#secret-box');
  const load = async () => {
    const res = await api('/v1/admin/keys');
    list.replaceChildren(
      table(
        [
          { label: 'ID', num: true, key: 'id' },
          { label: t('name'), render: (k) => h('strong', k.name) },
          { label: 'prefix', render: (k) => h('code', `${k.prefix}…`) },
          { label: t('scopes'), render: (k) => k.scopes.map((s) => pill(s, s === 'admin' ? 'warn' : 'info')) },
          { label: t('groups'), render: (k) => (k.groups.length ? k.groups.join(', ') : h('span.muted', t('publicOnly'))) },
          { label: t('created'), render: (k) => fmtDate(k.created_at, true) },
          { label: t('lastUsed'), render: (k) => fmtDate(k.last_used_at, true) },
          { label: t('status'), render: (k) => (k.revoked_at ? pill(t('revoked'), 'bad') : pill(t('active'), 'ok')) },
          {
            label: '',
            render: (k) =>
              k.revoked_at || k.id === session.key?.id
                ? ''
                : h('button.danger', {
                    type: 'button',
                    dataset: { revoke: String(k.id) },
                    'aria-label': `${t('revoke')} ${k.name}`,
                    onclick: async () => {
                      if (!(await confirmDialog(t('confirmRevoke', { name: k.name }), t('revoke'), true))) return;
                      try {
                        await api(`/v1/admin/keys/${k.id}`, { method: 'DELETE' });
                        toast(`${k.name}: ${t('revoked')}`);
                        load();
                      } catch (err) {
                        toast(err.message, true);
                      }
                    },
                  }, t('revoke')),
          },
        ],
        res.data,
      ),
    );
  };
  const name = h('input#key-name', { type: 'text', required: true, maxlength: '100' });
  const groups = h('input#key-groups', { type: 'text', placeholder: 'sales, hr' });
  const scopeBoxes = SCOPES.map((s) => h('input', { type: 'checkbox', value: s, id: `scope-${s}`, checked: s === 'chat' }));
  const form = h(
    'form.toolbar',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const k = await api('/v1/admin/keys', {
            method: 'POST',
            body: { name: name.value, scopes: scopeBoxes.filter((b) => b.checked).map((b) => b.value), groups: groups.value.split(',').map((g) => g.trim()).filter(Boolean) },
          });
          secretBox.replaceChildren(
            h('div.panel', h('p', h('strong', t('secretOnce'))), h('div#new-secret.secret', k.secret), h('div.actions', h('button', { type: 'button', onclick: (ev) => navigator.clipboard?.writeText(k.secret).then(() => (ev.target.textContent = t('copied'))) }, t('copy')))),
          );
          form.reset();
          load();
        } catch (err) {
          toast(err.message, true);
        }
      },
    },
    field(t('name'), name),
    field(t('groups'), groups),
    h('fieldset', { style: 'border:none;padding:0;margin:0;display:flex;gap:10px;align-items:center' }, h('legend.small.muted', t('scopes')), scopeBoxes.map((b) => h('label.check', { style: 'flex-direction:row;gap:4px' }, b, b.value))),
    h('button.primary', { type: 'submit' }, t('createKey')),
  );
  root.append(h('h1', t('keys')), h('div.panel', form), secretBox, list);
  await load();
}
