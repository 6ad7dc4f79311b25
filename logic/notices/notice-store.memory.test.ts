import { noticeStoreContract } from './notice-store.contract.ts';
import { MemoryNoticeStore } from './notice-store.memory.ts';

noticeStoreContract('memory', () =>
  Promise.resolve({ store: new MemoryNoticeStore(), close: () => Promise.resolve() }),
);
