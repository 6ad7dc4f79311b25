import type { Config } from '../lib/config.ts';
import type { Closeable } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/logger.ts';
import type { OfflineApi } from '../offline/index.ts';
import type { RouteTable } from '../push/index.ts';
import type { DeadLetterStore } from '../push/mobile/dead-letter-store.ts';
import type { DeviceTokenStore } from '../push/mobile/device-token-store.ts';
import type { MuteStore } from '../push/mobile/mute-store.ts';
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
  log: Logger;
}

/** The notifier with the providers configured (a provider without credentials is off, said once in the log). */
export function startNotifier(deps: MobileDeps): Notifier & Closeable {
  const senders = mobileSenders(deps.config, deps.log);
  const notifier = new Notifier({
    ...deps,
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
