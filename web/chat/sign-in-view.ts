import { el, messageOf } from './dom.ts';
import { devToken, SignInError, tabDevice } from './sign-in-api.ts';
import { Session } from './session.ts';

const USER_KEY = 'im.user';

/** The user signed in last in this browser: other tabs sign in as them too, each as a device of its own. */
export function rememberedUser(): string | undefined {
  return localStorage.getItem(USER_KEY) ?? undefined;
}

export function forgetUser(): void {
  localStorage.removeItem(USER_KEY);
}

/** No dev sign-in on this server (a cluster's gateway, or one with its own auth server). */
class NoDevSignIn extends SignInError {}

/** Signs in as `user` with dev tokens from this server, asked for again at every reconnect. */
export async function devSession(user: string): Promise<Session> {
  const device = tabDevice();
  const token = async () => {
    const t = await devToken(user, device);
    if (t === undefined) throw new NoDevSignIn('this server has no dev sign-in: paste a token instead');
    return t;
  };
  await token();
  const session = await Session.open(token);
  localStorage.setItem(USER_KEY, user);
  return session;
}

/**
 * The sign-in form: a user id, for which the server signs a dev token (the embedded server, from this machine). Where
 * it has no dev sign-in (it answers 404), a field to paste a token from the deployment's auth server shows instead.
 * The server's refusal is shown in its own words.
 */
export function signInView(signedIn: (session: Session) => void): HTMLElement {
  const user = el('input', { id: 'sign-in-user', 'data-testid': 'sign-in-user', autocomplete: 'username' });
  const token = el('textarea', { id: 'sign-in-token', 'data-testid': 'sign-in-token', rows: '4' });
  const userField = el('div', { class: 'field' }, el('label', { for: 'sign-in-user' }, 'User id'), user);
  const tokenField = el(
    'div',
    { class: 'field', hidden: true },
    el('label', { for: 'sign-in-token' }, 'Token (from your deployment’s auth server; it names user and device)'),
    token,
  );
  const error = el('p', { class: 'error', role: 'alert', 'data-testid': 'sign-in-error' });
  const button = el('button', { type: 'submit', 'data-testid': 'sign-in' }, 'Sign in');
  const submit = async () => {
    error.textContent = '';
    button.disabled = true;
    try {
      const pasted = token.value.trim();
      signedIn(
        tokenField.hidden ? await devSession(user.value.trim()) : await Session.open(() => Promise.resolve(pasted)),
      );
    } catch (err) {
      error.textContent = messageOf(err);
      if (err instanceof NoDevSignIn) {
        userField.hidden = true;
        tokenField.hidden = false;
        token.focus();
      }
    } finally {
      button.disabled = false;
    }
  };
  queueMicrotask(() => user.focus());
  return el(
    'form',
    { class: 'sign-in', onsubmit: (e) => (e.preventDefault(), void submit()) },
    el('h1', {}, 'IM chat'),
    userField,
    tokenField,
    el('p', { class: 'hint' }, `This tab signs in as a device of its own (${tabDevice()}).`),
    button,
    error,
  );
}
