import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ListRoomsOfRequest, ListRoomsRequest } from '../proto/gen/im/v1/services.pb.ts';
import { coalescedLogic } from './coalesced.ts';
import type { LogicApi } from './index.ts';

/** The two room methods of logic over a fixed table, counting calls (the rest of LogicApi is not used here). */
function roomsLogic(rooms: Record<string, string[]>) {
  const calls: string[] = [];
  const listRooms = ({ user }: ListRoomsRequest) => {
    if (user === 'broken') return Promise.reject(new Error('no such user'));
    return Promise.resolve({ rooms: rooms[user] ?? [] });
  };
  const logic = {
    listRooms: (r: ListRoomsRequest) => (calls.push('listRooms'), listRooms(r)),
    listRoomsOf: async ({ requests }: ListRoomsOfRequest) => {
      calls.push('listRoomsOf');
      return { responses: await Promise.all(requests.map(listRooms)) };
    },
  } as unknown as LogicApi;
  return { logic, calls };
}

describe('coalesced calls to logic', () => {
  it("answers the ListRooms of one turn with one ListRoomsOf, each caller its own user's rooms", async () => {
    const { logic, calls } = roomsLogic({ ann: ['group:a'], bob: ['group:a', 'group:b'] });
    const coalesced = coalescedLogic(logic);
    const answers = await Promise.all(['ann', 'bob', 'cy'].map((user) => coalesced.listRooms({ user })));
    assert.deepEqual(answers, [{ rooms: ['group:a'] }, { rooms: ['group:a', 'group:b'] }, { rooms: [] }]);
    assert.deepEqual(calls, ['listRoomsOf']);
    assert.deepEqual(await coalesced.listRooms({ user: 'bob' }), { rooms: ['group:a', 'group:b'] });
    assert.deepEqual(calls, ['listRoomsOf', 'listRooms'], 'a lone call goes out as itself');
  });

  it('fails only the caller whose request fails', async () => {
    const { logic } = roomsLogic({ ann: ['group:a'] });
    const coalesced = coalescedLogic(logic);
    const [ann, broken] = await Promise.allSettled([
      coalesced.listRooms({ user: 'ann' }),
      coalesced.listRooms({ user: 'broken' }),
    ]);
    assert.deepEqual(ann, { status: 'fulfilled', value: { rooms: ['group:a'] } });
    assert.equal(broken.status, 'rejected');
  });
});
