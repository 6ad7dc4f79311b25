import { connectionIndicator } from './connection-indicator.ts';
import { renderConversationList } from './conversation-list.ts';
import { ConversationView } from './conversation-view.ts';
import { el } from './dom.ts';
import { searchView } from './search-view.ts';
import type { Session } from './session.ts';
import { newChatForm, newGroupForm, type StartActions } from './start-forms.ts';

/**
 * The signed-in page: the conversation list beside the open conversation on a wide screen, one at a time on a
 * narrow one (the `showing-conversation` class says which). Redraws once per frame however many messages arrive.
 */
export function chatApp(session: Session, signOut: () => void): HTMLElement {
  const problem = el('p', { class: 'problem', role: 'alert', 'data-testid': 'problem' });
  const report = (text: string) => (problem.textContent = text);
  const list = el('ul', {
    class: 'conversation-list',
    'data-testid': 'conversation-list',
    'aria-label': 'Conversations',
  });
  const root = el('div', { class: 'chat' });
  const showConversation = (shown: boolean) => root.classList.toggle('showing-conversation', shown);
  const view = new ConversationView(session, () => (view.close(), showConversation(false), redraw()), report);
  const open = (id: string) => (showConversation(true), view.open(id), redraw());
  const actions: StartActions = {
    open,
    report,
    openDirect: (user, encrypted) => (showConversation(true), view.openDirect(user, encrypted)),
  };
  let scheduled = false;
  const redraw = () => {
    renderConversationList(list, session.store.sorted(), session.client.unread, view.current, open);
  };
  session.store.onChange(() => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      redraw();
      view.render();
    });
  });
  redraw();
  root.append(
    el(
      'header',
      { class: 'topbar' },
      el('h1', {}, 'IM chat'),
      connectionIndicator(session),
      el('span', { class: 'me', 'data-testid': 'me' }, `${session.auth.user} · ${session.auth.device}`),
      el('button', { type: 'button', 'data-testid': 'sign-out', onclick: signOut }, 'Sign out'),
    ),
    problem,
    el(
      'div',
      { class: 'panes' },
      el(
        'nav',
        { class: 'sidebar', 'aria-label': 'Conversations' },
        newChatForm(actions),
        newGroupForm(session, actions),
        searchView(session, open),
        list,
      ),
      view.element,
    ),
  );
  return root;
}
