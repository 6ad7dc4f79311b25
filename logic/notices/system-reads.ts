import type { Message } from '../../proto/gen/im/v1/message.pb.ts';
import { SYSTEM_STREAM, type OfflineApi } from '../../offline/index.ts';
import { countsAsUnread, visibleTo } from '../../sync/index.ts';
import type { SystemReads } from '../send.ts';
import type { NoticeStore } from './notice-store.ts';
import type { TagStore } from './tag-store.ts';

/** The system timeline's entries read past a marker to count what is unread there: notices to everyone are few. */
const TIMELINE_SCAN = 1000;

/** Read markers of "system" as the notice service sees them: who read which notice, and what is left unread. */
export function systemReads(deps: {
  store: NoticeStore;
  tags: TagStore;
  offline: Pick<OfflineApi, 'readInbox'>;
  now: () => number;
}): SystemReads {
  return {
    async read(user: string, entries: readonly Message[]): Promise<void> {
      const shared = entries.some((m) => m.stream !== 'inbox');
      const tags = shared ? await deps.tags.tagsOf(user) : [];
      const now = deps.now();
      const read = entries.filter((m) => m.stream === 'inbox' || visibleTo(m, tags, now));
      await Promise.all(read.map((m) => deps.store.addCounts(m.notice!.noticeId, { read: 1 })));
    },
    async unreadOnTimeline(user: string, afterSeq: number): Promise<number> {
      const page = await deps.offline.readInbox({ user: SYSTEM_STREAM, afterSeq, limit: TIMELINE_SCAN });
      if (page.messages.length === 0) return 0;
      const tags = await deps.tags.tagsOf(user);
      const now = deps.now();
      return page.messages.filter((m) => countsAsUnread(m, tags, now)).length;
    },
  };
}
