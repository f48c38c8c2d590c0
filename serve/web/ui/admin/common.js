import { h } from '../dom.js';
import { t } from '../i18n.js';

// Shared pieces of the console pages.

export function table(columns, rows, { onRow, empty = t('noData') } = {}) {
  if (!rows.length) return h('p.muted', empty);
  return h(
    'table.grid',
    h('thead', h('tr', columns.map((c) => h(c.num ? 'th.num' : 'th', { scope: 'col' }, c.label)))),
    h(
      'tbody',
      rows.map((r) => {
        const tr = h('tr', columns.map((c) => h(c.num ? 'td.num' : 'td', c.render ? c.render(r) : String(r[c.key] ?? '—'))));
        if (onRow) {
          tr.classList.add('clickable');
          tr.tabIndex = 0;
          tr.addEventListener('click', (e) => e.target.closest('button, a') || onRow(r));
          tr.addEventListener('keydown', (e) => e.key === 'Enter' && e.target === tr && onRow(r));
        }
        return tr;
      }),
    ),
  );
}

export function toast(text, bad = false) {
  const el = h(bad ? 'div.toast.bad' : 'div.toast', { role: bad ? 'alert' : 'status' }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 6000);
  return el;
}

export const runTone = (status) => ({ succeeded: 'ok', running: 'info', failed: 'bad', aborted: 'warn', interrupted: 'warn', created: 'muted' })[status] ?? 'muted';

/** <select> from [[value, label]], with the current value selected. */
export function select(id, options, value) {
  return h(`select#${id}`, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

/** A labelled toolbar field. */
export function field(label, control) {
  return h('label', label, control);
}

/** Confirm dialog that resolves true/false (keyboard: Enter confirms, Escape cancels). */
export function confirmDialog(text, confirmLabel, danger = false) {
  return new Promise((resolve) => {
    const ok = h(danger ? 'button.danger' : 'button.primary', { type: 'submit', value: 'ok' }, confirmLabel);
    const dialog = h('dialog.modal', h('form.signin', { method: 'dialog' }, h('p', text), h('div.actions', h('button', { type: 'submit', value: 'cancel' }, t('cancel')), ok)));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok');
    });
    document.body.append(dialog);
    dialog.showModal();
    ok.focus();
  });
}
