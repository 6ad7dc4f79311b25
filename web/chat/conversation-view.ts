import { peerOf } from '../../client/sdk.ts';
import { dmConversation, groupIdOf } from '../../lib/conversation.ts';
import { Composer } from './composer.ts';
import { el, fill, messageOf } from './dom.ts';
import { GroupPanel } from './group-panel.ts';
import { messageItem, type MessageActions } from './message-item.ts';
import type { Session } from './session.ts';
import type { ChatEntry } from './store.ts';

/** Messages drawn at first, and added each time the reader scrolls to the top of what is drawn. */
export const PAGE = 30;

/**
 * The open conversation: its newest page of messages (older pages as the reader scrolls up), the composer, and the
 * read marker sent while it is open and the page visible, so its unread count clears on every device.
 */
export class ConversationView {
  readonly element: HTMLElement;
  private readonly title = el('h2', { id: 'conversation-title', 'data-testid': 'open-title' });
  private readonly list = el('ol', { class: 'messages', 'data-testid': 'messages', 'aria-label': 'Messages' });
  private readonly groupPanel: GroupPanel;
  private readonly composer: Composer;
  private readonly membersButton: HTMLButtonElement;
  private openId: string | undefined;
  private shown = PAGE;
  /** The last read marker sent, per conversation: stream and seq. */
  private readonly marked = new Map<string, string>();
  /** 1:1s started as end-to-end encrypted here; once one message is, the SDK keeps the conversation so. */
  private readonly encryptedStarts = new Set<string>();

  constructor(
    private readonly session: Session,
    private readonly back: () => void,
    private readonly report: (problem: string) => void,
  ) {
    this.composer = new Composer({ send: (text) => this.send(text), saveEdit: (e, text) => this.saveEdit(e, text) });
    this.groupPanel = new GroupPanel(session, report, () => this.back());
    this.membersButton = el(
      'button',
      { type: 'button', 'data-testid': 'members-toggle', onclick: () => this.groupPanel.toggle() },
      'Members',
    );
    this.list.addEventListener('scroll', () => this.onScroll());
    document.addEventListener('visibilitychange', () => this.markRead());
    this.element = el(
      'section',
      { class: 'conversation', 'aria-labelledby': 'conversation-title' },
      el(
        'header',
        { class: 'conversation-header' },
        el('button', { type: 'button', class: 'back', 'aria-label': 'Back to conversations', onclick: back }, '←'),
        this.title,
        this.membersButton,
      ),
      this.groupPanel.element,
      this.list,
      this.composer.form,
    );
    this.render();
  }

  get current(): string | undefined {
    return this.openId;
  }

  open(id: string): void {
    if (id !== this.openId) {
      this.openId = id;
      this.shown = PAGE;
      this.composer.cancelEdit();
      this.groupPanel.show(id.startsWith('group:') ? groupIdOf(id) : undefined);
    }
    this.render(true);
    this.composer.focus();
  }

  /** Opens the 1:1 with `user` (started now if it has no messages yet). */
  openDirect(user: string, encrypted: boolean): void {
    const id = dmConversation(this.session.auth.user, user);
    this.session.store.conversation(id);
    if (encrypted) this.encryptedStarts.add(id);
    this.open(id);
    this.session.store.changed();
  }

  /** Back to the list (one pane at a time on a narrow screen): nothing is open, so nothing is marked read. */
  close(): void {
    this.openId = undefined;
    this.groupPanel.show(undefined);
    this.render();
  }

  render(toBottom = false): void {
    const c = this.openId ? this.session.store.conversations.get(this.openId) : undefined;
    this.element.classList.toggle('empty', !c);
    this.membersButton.hidden = c?.kind !== 'group';
    this.composer.form.hidden = !c || c.kind === 'system';
    const encrypted = c !== undefined && this.session.client.isEncrypted(c.id);
    this.title.textContent = c ? `${c.title}${encrypted ? ' 🔒' : ''}` : 'Pick a conversation';
    const fromBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight;
    const entries = c?.entries.slice(-this.shown) ?? [];
    fill(this.list, ...entries.map((e) => messageItem(e, this.session.auth.user, this.actions)));
    // At the bottom (or opening): follow the newest; scrolled up: keep the same message in view.
    if (toBottom || fromBottom < 40) this.list.scrollTop = this.list.scrollHeight;
    else this.list.scrollTop = this.list.scrollHeight - this.list.clientHeight - fromBottom;
    this.markRead();
  }

  private readonly actions: MessageActions = {
    edit: (entry) => this.composer.startEdit(entry),
    recall: (entry) => {
      const id = this.openId;
      if (id) this.session.client.recall({ conversation: id, ...entry }).catch((err) => this.report(messageOf(err)));
    },
    retry: (entry) => {
      if (this.openId) this.transmit(this.openId, entry.clientMsgId, entry.text);
    },
  };

  private onScroll(): void {
    const c = this.openId ? this.session.store.conversations.get(this.openId) : undefined;
    if (!c || this.list.scrollTop > 40 || this.shown >= c.entries.length) return;
    this.shown += PAGE;
    this.render();
  }

  private send(text: string): void {
    if (!this.openId) return;
    const clientMsgId = crypto.randomUUID();
    this.session.store.addPending(this.openId, this.session.auth.device, clientMsgId, text);
    this.render(true);
    this.transmit(this.openId, clientMsgId, text);
  }

  /** Sends (again, for a retry: the same client_msg_id, so the server keeps one message), pending until durable. */
  private transmit(conversation: string, clientMsgId: string, text: string): void {
    const { store, client, auth } = this.session;
    const key = `${auth.device}/${clientMsgId}`;
    store.setStatus(conversation, key, 'pending');
    const peer = peerOf(conversation, auth.user).kind;
    const to = peer?.$case === 'group' ? { group: peer.value } : { user: String(peer?.value ?? '') };
    const options = this.encryptedStarts.has(conversation) ? { encrypted: true } : {};
    client.send(to, { text }, clientMsgId, options).then(
      () => store.setStatus(conversation, key, 'sent'),
      (err: unknown) => {
        store.setStatus(conversation, key, 'failed');
        this.report(messageOf(err));
      },
    );
  }

  private saveEdit(entry: ChatEntry, text: string): void {
    const id = this.openId;
    if (id) this.session.client.edit({ conversation: id, ...entry }, text).catch((err) => this.report(messageOf(err)));
  }

  /** Sends a read marker for the newest entry when the conversation is open, seen, and has unread messages. */
  private markRead(): void {
    const id = this.openId;
    if (!id || document.visibilityState !== 'visible') return;
    if ((this.session.client.unread.get(id) ?? 0) === 0) return;
    const last = this.session.store.conversations.get(id)?.entries.findLast((e) => e.seq > 0);
    if (!last) return;
    const marker = `${last.stream}:${last.seq}`;
    if (this.marked.get(id) === marker) return;
    this.marked.set(id, marker);
    this.session.client.markRead(id, last.seq, last.stream).catch((err) => {
      this.marked.delete(id);
      this.report(messageOf(err));
    });
  }
}
