// Calls to logic, coalesced (lib/coalesce.ts): the connects a gateway sets up in one event-loop turn share one
// ListRoomsOf call instead of one ListRooms each (a reconnect storm is thousands of them).
import { batched, override } from '../lib/coalesce.ts';
import type { LogicApi } from './index.ts';

export function coalescedLogic(logic: LogicApi): LogicApi {
  return override(logic, {
    listRooms: batched(
      (r) => logic.listRooms(r),
      async (requests) => (await logic.listRoomsOf({ requests: [...requests] })).responses,
    ),
  });
}
