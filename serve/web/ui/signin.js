import { api, ApiError, setKey } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';

/** Shows the sign-in dialog; resolves with the session once a key is accepted. `leaveTo`: a link out (e.g. back to the chat). */
export function signIn(message, leaveTo) {
  return new Promise((resolve) => {
    const input = h('input#api-key', { type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: 'kb_…', required: true, 'aria-describedby': 'signin-help' });
    const remember = h('input', { type: 'checkbox', id: 'remember' });
    const err = h('p.error', { role: 'alert', hidden: !message }, message ?? '');
    const form = h(
      'form.signin',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          const key = input.value.trim();
          if (!key) return;
          setKey(key, remember.checked);
          try {
            const s = await api('/v1/session');
            dialog.close();
            dialog.remove();
            resolve(s);
          } catch (ex) {
            err.hidden = false;
            err.textContent = t('invalidKey', { msg: ex instanceof ApiError ? ex.message : String(ex) });
            input.select();
          }
        },
      },
      h('h2', t('signInTitle')),
      h('p#signin-help.muted', t('signInHelp')),
      h('label', { for: 'api-key' }, t('apiKey')),
      input,
      h('label.check', remember, ' ', t('remember')),
      err,
      h('div.actions', leaveTo ? h('a.button', { href: leaveTo }, t('chat')) : null, h('button.primary', { type: 'submit' }, t('signIn'))),
    );
    const dialog = h('dialog.modal', { 'aria-labelledby': 'signin-title' }, form);
    // Without a key nothing works: Escape must not leave a page that cannot load anything.
    dialog.addEventListener('cancel', (e) => e.preventDefault());
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}
