import './style.css';
import { AdminApi, AdminApiError } from './admin-api.ts';
import { consoleView } from './console-view.ts';
import { messageOf } from './dom.ts';
import { session } from './session.ts';
import { signInView } from './sign-in-view.ts';

const root = document.querySelector<HTMLElement>('#app')!;

function showConsole(api: AdminApi): void {
  root.replaceChildren(
    consoleView(api, () => {
      session.clear();
      // A fresh page: every poll of the console stops with it.
      location.reload();
    }),
  );
}

function showSignIn(problem = ''): void {
  root.replaceChildren(signInView(showConsole, problem));
}

/** A token kept from earlier in this tab is tried first; a refused one is dropped. */
async function start(): Promise<void> {
  const token = session.token();
  if (token === null) return showSignIn();
  const api = new AdminApi(token);
  try {
    await api.listApps();
    showConsole(api);
  } catch (err) {
    if (err instanceof AdminApiError && err.status === 401) session.clear();
    showSignIn(messageOf(err));
  }
}

void start();
