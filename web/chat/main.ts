import { chatApp } from './chat-app.ts';
import { fill } from './dom.ts';
import type { Session } from './session.ts';
import { devSession, forgetUser, rememberedUser, signInView } from './sign-in-view.ts';
import './style.css';

const app = document.querySelector<HTMLElement>('#app')!;

function showChat(session: Session): void {
  fill(
    app,
    chatApp(session, () => {
      forgetUser();
      void session.close().finally(showSignIn);
    }),
  );
}

function showSignIn(): void {
  fill(app, signInView(showChat));
}

/** A user signed in on another tab of this browser: this tab joins as another device of theirs. */
async function start(): Promise<void> {
  const user = rememberedUser();
  if (user) {
    try {
      return showChat(await devSession(user));
    } catch {
      forgetUser();
    }
  }
  showSignIn();
}

void start();
