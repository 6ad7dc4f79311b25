import { byConversation, type Mute, type MuteStore } from './mute-store.ts';

/** Mutes in Maps: the default for tests and a single process without a data directory. */
export class MemoryMuteStore implements MuteStore {
  /** user → conversation → untilMs. */
  private readonly byUser = new Map<string, Map<string, number>>();

  set(user: string, conversation: string, untilMs: number): Promise<void> {
    let mutes = this.byUser.get(user);
    if (untilMs === 0) {
      mutes?.delete(conversation);
      if (mutes?.size === 0) this.byUser.delete(user);
      return Promise.resolve();
    }
    if (!mutes) this.byUser.set(user, (mutes = new Map<string, number>()));
    mutes.set(conversation, untilMs);
    return Promise.resolve();
  }

  mutedOf(pairs: readonly { user: string; conversation: string }[], nowMs: number): Promise<boolean[]> {
    return Promise.resolve(
      pairs.map(({ user, conversation }) => (this.byUser.get(user)?.get(conversation) ?? 0) > nowMs),
    );
  }

  ofUser(user: string, nowMs: number): Promise<Mute[]> {
    const mutes = [...(this.byUser.get(user) ?? [])]
      .filter(([, untilMs]) => untilMs > nowMs)
      .map(([conversation, untilMs]) => ({ conversation, untilMs }));
    return Promise.resolve(mutes.sort(byConversation));
  }
}
