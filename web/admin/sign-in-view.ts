import { AdminApi } from './admin-api.ts';
import { el, labelled, messageOf } from './dom.ts';
import { session } from './session.ts';

/**
 * The sign-in form: the operator token, checked by asking for the app list (a wrong one shows the server's 401
 * message). Only a token that worked is kept.
 */
export function signInView(onSignedIn: (api: AdminApi) => void, problem = ''): HTMLElement {
  const token = el('input', { type: 'password', name: 'token', autocomplete: 'off', required: true });
  const error = el('p', { class: 'error', role: 'alert', 'data-testid': 'sign-in-error' }, problem);
  const submit = el('button', { type: 'submit' }, 'Sign in');
  const form = el(
    'form',
    { class: 'sign-in', 'aria-label': 'Sign in' },
    el('h1', {}, 'IM admin console'),
    el('p', {}, 'Sign in with the operator token the server printed at start (or IM_OPERATOR_TOKEN).'),
    labelled('Operator token', token),
    submit,
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    const api = new AdminApi(token.value.trim());
    api
      .listApps()
      .then(() => {
        session.save(token.value.trim());
        onSignedIn(api);
      })
      .catch((err: unknown) => {
        error.textContent = messageOf(err);
        submit.disabled = false;
        token.focus();
      });
  });
  queueMicrotask(() => token.focus());
  return form;
}
