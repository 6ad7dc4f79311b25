import { el, fill, formatTime } from './dom.ts';
import type { ChatEntry, Conversation } from './store.ts';

/** What a list row says of a conversation's latest entry. */
export function previewOf(entry: ChatEntry | undefined): string {
  if (!entry) return 'No messages yet';
  if (entry.recalled) return 'message recalled';
  if (entry.encryption && !entry.encryption.opened) return 'could not decrypt';
  if (entry.notice) return `${entry.notice.title}: ${entry.text}`;
  return entry.text;
}

const KIND_LABEL = { dm: '1:1', group: 'Group', system: 'Notices' } as const;

/** The conversations, newest activity first, each with its unread badge and last message. */
export function renderConversationList(
  list: HTMLElement,
  conversations: Conversation[],
  unread: ReadonlyMap<string, number>,
  openId: string | undefined,
  open: (id: string) => void,
): void {
  const rows = conversations.map((c) => {
    const last = c.entries.at(-1);
    const count = unread.get(c.id) ?? 0;
    const label = `${c.title}, ${KIND_LABEL[c.kind]}${count > 0 ? `, ${count} unread` : ''}`;
    const button = el(
      'button',
      {
        type: 'button',
        class: `conversation-row kind-${c.kind}`,
        'data-testid': 'conversation-row',
        'data-conversation': c.id,
        'aria-current': c.id === openId ? 'true' : undefined,
        'aria-label': label,
        onclick: () => open(c.id),
      },
      el(
        'span',
        { class: 'row-top' },
        el('span', { class: 'row-title', 'data-testid': 'conversation-title' }, c.title),
        el('span', { class: 'row-kind' }, KIND_LABEL[c.kind]),
        last && el('time', { class: 'row-time' }, formatTime(last.sentAtMs)),
      ),
      el(
        'span',
        { class: 'row-bottom' },
        el('span', { class: 'row-preview', 'data-testid': 'conversation-preview' }, previewOf(last)),
        count > 0 && el('span', { class: 'badge', 'data-testid': 'unread-badge' }, String(count)),
      ),
    );
    return el('li', {}, button);
  });
  // A redraw keeps the keyboard where it was: on the same conversation's row.
  const focused = document.activeElement?.closest('[data-conversation]')?.getAttribute('data-conversation');
  fill(list, ...(rows.length > 0 ? rows : [el('li', { class: 'empty' }, 'No conversations yet: start one above.')]));
  if (focused) list.querySelector<HTMLElement>(`[data-conversation="${CSS.escape(focused)}"]`)?.focus();
}
