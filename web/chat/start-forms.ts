import { groupConversation } from '../../lib/conversation.ts';
import { el, messageOf } from './dom.ts';
import { splitIds } from './group-panel.ts';
import type { Session } from './session.ts';

export interface StartActions {
  openDirect(user: string, encrypted: boolean): void;
  open(conversation: string): void;
  report(problem: string): void;
}

/** Start a 1:1 with a user id (optionally end-to-end encrypted). */
export function newChatForm(actions: StartActions): HTMLElement {
  const user = el('input', {
    id: 'new-chat-user',
    'data-testid': 'new-chat-user',
    autocomplete: 'off',
    required: true,
  });
  const encrypted = el('input', { id: 'new-chat-encrypted', type: 'checkbox', 'data-testid': 'new-chat-encrypted' });
  return el(
    'form',
    {
      class: 'start-form',
      onsubmit: (e) => {
        e.preventDefault();
        const id = user.value.trim();
        if (id === '') return;
        actions.openDirect(id, encrypted.checked);
        user.value = '';
      },
    },
    el('label', { for: 'new-chat-user' }, 'New chat with user'),
    el('div', { class: 'row' }, user, el('button', { type: 'submit', 'data-testid': 'new-chat' }, 'Open')),
    el('label', { class: 'check' }, encrypted, ' end-to-end encrypted'),
  );
}

/** Create a group with a name and members; it opens once the server has it. */
export function newGroupForm(session: Session, actions: StartActions): HTMLElement {
  const name = el('input', { id: 'group-name', 'data-testid': 'group-name', autocomplete: 'off', required: true });
  const members = el('input', { id: 'group-members', 'data-testid': 'group-members', autocomplete: 'off' });
  const create = async () => {
    try {
      const group = await session.client.createGroup(name.value.trim(), splitIds(members.value));
      const id = groupConversation(group.groupId);
      session.store.conversation(id, group.name);
      name.value = members.value = '';
      actions.open(id);
    } catch (err) {
      actions.report(messageOf(err));
    }
  };
  return el(
    'details',
    { class: 'start-form' },
    el('summary', {}, 'New group'),
    el(
      'form',
      { onsubmit: (e) => (e.preventDefault(), void create()) },
      el('label', { for: 'group-name' }, 'Group name'),
      name,
      el('label', { for: 'group-members' }, 'Members (user ids, comma-separated)'),
      members,
      el('button', { type: 'submit', 'data-testid': 'create-group' }, 'Create group'),
    ),
  );
}
