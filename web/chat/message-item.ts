import { el, formatTime } from './dom.ts';
import type { ChatEntry } from './store.ts';

/** What a message's own buttons do. */
export interface MessageActions {
  edit(entry: ChatEntry): void;
  recall(entry: ChatEntry): void;
  retry(entry: ChatEntry): void;
}

const STATUS_TEXT = { pending: 'sending…', sent: '', failed: 'not sent' } as const;

/** One message of a conversation: sender, time, text (as text, always), its state, and the sender's own actions. */
export function messageItem(entry: ChatEntry, me: string, actions: MessageActions): HTMLLIElement {
  if (entry.notice) return noticeItem(entry);
  const own = entry.fromUser === me;
  const refused = entry.encryption?.opened === false;
  const canChange = own && entry.status === 'sent' && !entry.recalled && !refused;
  return el(
    'li',
    {
      class: `message${own ? ' own' : ''} status-${entry.status}`,
      'data-testid': 'message',
      'data-key': entry.key,
      'data-status': entry.status,
    },
    el(
      'div',
      { class: 'message-meta' },
      el('span', { class: 'sender', 'data-testid': 'message-sender' }, own ? 'You' : entry.fromUser),
      el('time', { datetime: new Date(entry.sentAtMs).toISOString() }, formatTime(entry.sentAtMs)),
      entry.encryption?.opened === true &&
        el(
          'span',
          { class: 'lock', role: 'img', 'aria-label': 'end-to-end encrypted', title: 'end-to-end encrypted' },
          '🔒',
        ),
      entry.edited && !entry.recalled && el('span', { class: 'edited' }, 'edited'),
      STATUS_TEXT[entry.status] &&
        el('span', { class: 'status', 'data-testid': 'message-status' }, STATUS_TEXT[entry.status]),
    ),
    bodyOf(entry),
    (canChange || entry.status === 'failed') &&
      el(
        'div',
        { class: 'message-actions' },
        canChange &&
          el('button', { type: 'button', 'data-testid': 'edit', onclick: () => actions.edit(entry) }, 'Edit'),
        canChange &&
          el('button', { type: 'button', 'data-testid': 'recall', onclick: () => actions.recall(entry) }, 'Recall'),
        entry.status === 'failed' &&
          el('button', { type: 'button', 'data-testid': 'retry', onclick: () => actions.retry(entry) }, 'Retry'),
      ),
  );
}

function bodyOf(entry: ChatEntry): HTMLElement {
  if (entry.recalled)
    return el('p', { class: 'message-text recalled', 'data-testid': 'message-text' }, 'message recalled');
  if (entry.encryption?.opened === false)
    return el(
      'p',
      { class: 'message-text refused', 'data-testid': 'message-text', title: entry.encryption.reason },
      'could not decrypt',
    );
  return el('p', { class: 'message-text', 'data-testid': 'message-text' }, entry.text);
}

/** A system notice from an app: its own kind, a title and a body. */
function noticeItem(entry: ChatEntry): HTMLLIElement {
  return el(
    'li',
    { class: 'notice', 'data-testid': 'notice', 'data-key': entry.key },
    el(
      'div',
      { class: 'message-meta' },
      el('span', { class: 'sender' }, entry.fromUser),
      el('time', { datetime: new Date(entry.sentAtMs).toISOString() }, formatTime(entry.sentAtMs)),
    ),
    el('h3', { class: 'notice-title', 'data-testid': 'notice-title' }, entry.notice?.title ?? ''),
    el('p', { class: 'notice-body', 'data-testid': 'notice-body' }, entry.text),
  );
}
