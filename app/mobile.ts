import type { Config } from '../lib/config.ts';
import type { Closeable } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/logger.ts';
import type { OfflineApi } from '../offline/index.ts';
import type { RouteTable } from '../push/index.ts';
import type { DeadLetterStore } from '../push/mobile/dead-letter-store.ts';
import type { DeviceTokenStore } from '../push/mobile/device-token-store.ts';
import type { MuteStore } from '../push/mobile/mute-store.ts';
import type { GroupStore, TagStore } from '../logic/index.ts';
import { PushJobQueue } from '../push/mobile/job-queue.ts';
import { DEFAULT_NOTIFIER, Notifier } from '../push/mobile/notifier.ts';
import { mobileSenders } from './mobile-senders.ts';

/** What the mobile push notifier of a process needs besides its stores. */
export interface MobileDeps {
  config: Config;
  tokens: DeviceTokenStore;
  deadLetters: DeadLetterStore;
  mutes: MuteStore;
  routes: Pick<RouteTable, 'lookup'>;
  offline: Pick<OfflineApi, 'getCursor'>;
  badges: (users: string[]) => Promise<number[]>;
  /** Where the members of a large group and the holders of a tag are (a message or notice stored once for them). */
  audiences: { groups: GroupStore; tags: TagStore };
  log: Logger;
}

/** The users of a room's audience: a large group's members, or the users an app tagged. */
function audienceUsers({ groups, tags }: MobileDeps['audiences']) {
  return async (audience: string, page: { after: string; limit: number }) => {
    if (audience.startsWith('group:')) {
      const members = await groups.listMembers(audience.slice('group:'.length), page);
      const items = members.items.map((m) => m.user);
      return members.next === undefined ? { items } : { items, next: members.next };
    }
    if (audience.startsWith('tag:')) {
      const [, appId = '', tag = ''] = audience.split(':');
      return tags.usersOf(appId, tag, page);
    }
    return { items: [] };
  };
}

/** The notifier with the providers configured (a provider without credentials is off, said once in the log). */
export function startNotifier(deps: MobileDeps): Notifier & Closeable {
  const senders = mobileSenders(deps.config, deps.log);
  const notifier = new Notifier({
    ...deps,
    audienceUsers: audienceUsers(deps.audiences),
    senders,
    options: { ...DEFAULT_NOTIFIER, coalesceWindowMs: deps.config.pushCoalesceWindowMs },
  });
  notifier.start();
  return Object.assign(notifier, {
    close: async () => {
      notifier.stop();
      await Promise.all(Object.values(senders).map((s) => s.close()));
    },
  });
}

/** Embedded mode: the notifier behind an in-process queue the send path hands jobs to. */
export function embeddedMobile(deps: MobileDeps): { queue: PushJobQueue; notifier: Notifier } & Closeable {
  const notifier = startNotifier(deps);
  const queue = new PushJobQueue((jobs) => notifier.handle(jobs), deps.log);
  return {
    queue,
    notifier,
    close: async () => {
      await queue.idle();
      await notifier.close();
    },
  };
}
