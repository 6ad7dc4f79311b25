import type { PushApi } from '../push/index.ts';
import type { SendLimits } from './send.ts';

// What the send tests give logic: small limits, and a push that delivers to no one (everyone syncs).

export const testSendLimits: SendLimits = {
  maxBodyBytes: 1024,
  dedupeTtlMs: 60_000,
  recallWindowMs: 10_000,
  editWindowMs: 20_000,
  maxEditsPerMessage: 2,
  largeGroupAbove: 100,
};

export const quietPush: PushApi = {
  deliverMessages: () => Promise.resolve({ delivered: 0 }),
  sendToConnection: () => Promise.resolve({ delivered: false }),
  deliverToRoom: () => Promise.resolve({ delivered: 0, gatewayCalls: 0 }),
  changeRoom: () => Promise.resolve({ changed: 0 }),
  registerDevice: () => Promise.reject(new Error('not used here')),
  unregisterDevice: () => Promise.reject(new Error('not used here')),
  listDevices: () => Promise.reject(new Error('not used here')),
  listDeadLetters: () => Promise.reject(new Error('not used here')),
  replayDeadLetters: () => Promise.reject(new Error('not used here')),
};
