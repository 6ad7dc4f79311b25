import { ImClient, type AuthResult } from '../../client/sdk.ts';
import { groupConversation } from '../../lib/conversation.ts';
import { ChatStore } from './store.ts';

/** The connection as the indicator shows it: the SDK reconnects on its own, with backoff, after a drop. */
export type ConnectionState = 'connecting' | 'online' | 'reconnecting';

/** One signed-in user on this tab's device: the SDK client and what it has brought into the store. */
export class Session {
  readonly store: ChatStore;
  readonly client: ImClient;
  state: ConnectionState = 'connecting';
  /** The last problem the SDK reported, for the status line. */
  problem = '';
  private readonly stateListeners = new Set<() => void>();

  private constructor(
    client: ImClient,
    readonly auth: AuthResult,
  ) {
    this.client = client;
    this.store = new ChatStore(auth.user);
  }

  /**
   * Connects with a token from `token` (asked again at every reconnect, so an expired one is replaced) and wires the
   * SDK's events into a store; rejects with the server's refusal.
   */
  static async open(token: () => Promise<string>): Promise<Session> {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
    const client = new ImClient({ url, token });
    const early: Parameters<ChatStore['applyMessage']>[0][] = [];
    const hold = (m: (typeof early)[number]) => early.push(m);
    client.on('message', hold);
    client.on('error', () => undefined);
    let session: Session | undefined;
    client.once('connected', (auth) => {
      // Sync brings messages before connect() resolves: the store exists from the first authenticated frame.
      session = new Session(client, auth);
      session.wire();
      client.off('message', hold);
      for (const m of early) session.store.applyMessage(m);
    });
    try {
      await client.connect();
    } catch (err) {
      await client.close();
      throw err;
    }
    if (!session) throw new Error('connected without an authentication result');
    session.setState('online');
    await session.loadGroups();
    return session;
  }

  onState(listener: () => void): void {
    this.stateListeners.add(listener);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** Names the groups this user is in (their conversations show by name, even before a message). */
  async loadGroups(): Promise<void> {
    let cursor = '';
    do {
      const page = await this.client.listGroups({ cursor });
      for (const g of page.groups) this.store.conversation(groupConversation(g.groupId), g.name || g.groupId);
      cursor = page.nextCursor;
    } while (cursor !== '');
    this.store.changed();
  }

  private wire(): void {
    const { client, store } = this;
    client.on('message', (m) => {
      const known = store.conversations.has(m.conversation);
      store.applyMessage(m);
      if (!known && m.conversation.startsWith('group:')) void this.loadGroups().catch(() => undefined);
    });
    client.on('notice', (n) => store.applyNotice(n));
    client.on('noticeRecalled', (id) => store.removeNotice(id));
    client.on('unread', () => store.changed());
    client.on('connected', () => this.setState('online'));
    client.on('disconnected', () => this.setState('reconnecting'));
    client.on('error', (err) => {
      this.problem = err.message;
      this.setState(this.state);
    });
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    for (const listener of this.stateListeners) listener();
  }
}
