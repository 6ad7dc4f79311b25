// Who talks to whom in a chaos run: users with a few devices each, 1:1 pairs, small groups, and large groups (more
// members than IM_SMALL_GROUP_MAX_MEMBERS, so their messages go to a timeline instead of each inbox).

export interface PopulationOptions {
  runId: string;
  users: number;
  devicesPerUser: number;
  /** Members of each small group (at most the small-group limit). */
  smallGroupSize: number;
  largeGroups: number;
  /** Members of each large group: above the small-group limit. */
  largeGroupSize: number;
}

export interface Conversation {
  /** "dm:<a>:<b>", or "group:<id>" once the group exists (until then a placeholder). */
  id: string;
  members: string[];
  kind: 'dm' | 'small group' | 'large group';
  /** For groups: the member that creates it. */
  owner?: string;
  groupId?: string;
}

export interface Population {
  users: string[];
  devices: string[];
  conversations: Conversation[];
  /** User -> the conversations they write in. */
  of: Map<string, Conversation[]>;
}

export const DEVICE_NAMES = ['phone', 'laptop', 'tablet', 'watch'];

export function population(o: PopulationOptions): Population {
  const users = Array.from({ length: o.users }, (_, i) => `${o.runId}-u${i}`);
  const conversations: Conversation[] = [];
  // Each user with the next two: every user in four 1:1 conversations.
  for (let i = 0; i < users.length; i++) {
    for (const step of [1, 2]) {
      const pair = [users[i]!, users[(i + step) % users.length]!].sort();
      if (pair[0] === pair[1] || conversations.some((c) => c.id === `dm:${pair[0]}:${pair[1]}`)) continue;
      conversations.push({ id: `dm:${pair[0]}:${pair[1]}`, members: pair, kind: 'dm' });
    }
  }
  for (let i = 0; i + o.smallGroupSize <= users.length; i += o.smallGroupSize) {
    const members = users.slice(i, i + o.smallGroupSize);
    conversations.push({ id: `small-${i}`, members, kind: 'small group', owner: members[0]! });
  }
  for (let g = 0; g < o.largeGroups; g++) {
    // Spread over the users, a different slice for each group.
    const members = Array.from({ length: Math.min(o.largeGroupSize, users.length) }, (_, i) => {
      return users[(g * 7 + i * Math.max(1, Math.floor(users.length / o.largeGroupSize))) % users.length]!;
    });
    const unique = [...new Set(members)];
    conversations.push({ id: `large-${g}`, members: unique, kind: 'large group', owner: unique[0]! });
  }
  const of = new Map<string, Conversation[]>(users.map((u) => [u, []]));
  for (const c of conversations) for (const m of c.members) of.get(m)!.push(c);
  return { users, devices: DEVICE_NAMES.slice(0, o.devicesPerUser), conversations, of };
}
