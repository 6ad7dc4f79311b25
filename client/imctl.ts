import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { devSigningKey, loadOrCreateDevKey } from '../lib/dev-key.ts';
import { LOCAL_ISSUER } from '../lib/local-auth.ts';
import { readSigningKey } from '../lib/token-keys.ts';
import { ImError, toImError } from '../lib/errors.ts';
import { tokenSigner } from '../lib/token.ts';
import {
  ImClient,
  groupRoleName,
  type GroupInfo,
  type GroupMember,
  type GroupRoleName,
  type GroupSummary,
  type SendResult,
  type SyncState,
} from './sdk.ts';
import {
  asOperator,
  deviceCommand,
  memberList,
  operatorClient,
  nonNegativeInt,
  positiveInt,
  positiveNumber,
  print,
  type DeviceOptions,
  type OperatorOptions,
} from './cli.ts';
import { DeviceKeyFile } from './imctl-e2e-keys.ts';
import { OpenedEntries, addSafetyNumberCommand, chatMessageJson, warnIdentityChanged } from './imctl-e2e.ts';
import { addNoticeCommands, noticeJson } from './imctl-notices.ts';
import { addPushCommands } from './imctl-push.ts';
import { addSearchCommand } from './imctl-search.ts';

/**
 * imctl: the command line on top of the SDK. Every command prints JSON on stdout (one object, or one line per
 * message or notice for `listen`); failures print {"error": {code, message}} on stderr and exit with status 1.
 */

type SendCommandOptions = DeviceOptions & {
  to?: string;
  group?: string;
  text: string;
  clientMsgId?: string;
  e2e?: boolean;
};

const ROLE_NAMES: readonly GroupRoleName[] = ['owner', 'admin', 'member'];
/** Checked in the action (not as a Commander argParser), so a bad role is reported as JSON like other refusals. */
const roleName = (value: string): GroupRoleName => {
  if (!(ROLE_NAMES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`--role must be owner, admin or member, not ${JSON.stringify(value)}`);
  return value as GroupRoleName;
};

/**
 * A token signed with the dev key (embedded mode), or with the key in IM_AUTH_SIGNING_KEY_FILE under IM_AUTH_ISSUER
 * (the local cluster's stand-in for an auth server: `npm run cluster` prints both). A real deployment's tokens come
 * from its auth server: pass them with --token.
 */
async function devToken(user: string, device: string, ttlSec: number): Promise<string> {
  const keyFile = process.env.IM_AUTH_SIGNING_KEY_FILE;
  const signer = keyFile
    ? tokenSigner(readSigningKey(keyFile), {
        issuer: process.env.IM_AUTH_ISSUER ?? LOCAL_ISSUER,
        audience: process.env.IM_AUTH_AUDIENCE ?? 'im',
      })
    : tokenSigner(devSigningKey(await loadOrCreateDevKey()));
  return signer.sign(user, device, ttlSec);
}

/** Where a device's sync state is kept between runs, so `listen` and `sync` resume instead of replaying. */
function statePath(o: DeviceOptions): string {
  const server = o.server.replace(/^wss?:\/\//, '').replace(/[^a-zA-Z0-9.-]+/g, '_');
  return join(process.env.IM_HOME ?? join(homedir(), '.im'), 'devices', server, `${o.user}.${o.device}.json`);
}

function loadState(o: DeviceOptions): SyncState | undefined {
  if (!o.state) return undefined;
  try {
    return JSON.parse(readFileSync(statePath(o), 'utf8')) as SyncState;
  } catch {
    return undefined;
  }
}

function saveState(o: DeviceOptions, state: SyncState): void {
  if (!o.state) return;
  const path = statePath(o);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(state) + '\n');
}

interface Watch {
  /** Listen (and reconnect): each message, notice and notice recall as the JSON line imctl prints for it. */
  onEntry?: (json: object) => void;
  /** Called before the client connects, so what it shows while it catches up is seen too. */
  beforeConnect?: (client: ImClient) => void;
}

/**
 * Runs `body` with a connected client for the device and closes it afterwards. The device's end-to-end keys are in
 * its key file (DeviceKeyFile), the same for every command, so it stays one device across runs.
 */
async function withClient<T>(o: DeviceOptions, body: (client: ImClient) => Promise<T>, watch: Watch = {}): Promise<T> {
  const { onEntry } = watch;
  const client: ImClient = new ImClient({
    url: o.server,
    token: o.token ?? (() => devToken(o.user, o.device, 3600)),
    state: loadState(o),
    reconnect: onEntry !== undefined,
    // Each run asks the server for the readers' devices afresh: one added or reset since the last run is written to.
    e2e: { store: new DeviceKeyFile(() => client.auth, o.e2eKeys), deviceListTtlMs: 0 },
  });
  if (onEntry) {
    client.on('message', (m) => onEntry(chatMessageJson(m)));
    client.on('notice', (n) => onEntry(noticeJson(n)));
    client.on('noticeRecalled', (noticeId) => onEntry({ kind: 'notice_recalled', notice_id: noticeId }));
  }
  client.on('identityChanged', warnIdentityChanged);
  client.on('error', (err) =>
    process.stderr.write(JSON.stringify({ warning: { code: toImError(err).code, message: err.message } }) + '\n'),
  );
  watch.beforeConnect?.(client);
  try {
    await client.connect();
    return await body(client);
  } finally {
    await client.close();
    saveState(o, client.state);
  }
}

/** A send's (or edit's) result as imctl prints it; `encrypted: true` when it went end-to-end encrypted. */
const sendJson = (result: SendResult, encrypted: boolean) => ({
  server_msg_id: result.serverMsgId,
  seq: result.seq,
  conversation: result.conversation,
  sent_at_ms: result.sentAtMs,
  client_msg_id: result.clientMsgId,
  ...(encrypted ? { encrypted: true } : {}),
});

export function buildProgram(): Command {
  const program = new Command('imctl').description('Command line for the IM backend (JSON output)').exitOverride();

  program
    .command('token')
    .description(
      'print a token signed with the local dev key (embedded mode) or IM_AUTH_SIGNING_KEY_FILE (local cluster)',
    )
    .requiredOption('--user <id>', 'user id')
    .option('--device <id>', 'device id', 'cli')
    .addOption(new Option('--ttl <seconds>', 'lifetime').argParser(positiveInt).default(3600))
    .action(async (o: { user: string; device: string; ttl: number }) => {
      print({ token: await devToken(o.user, o.device, o.ttl), user: o.user, device: o.device, expires_in: o.ttl });
    });

  asOperator(program.command('revoke'))
    .description('revoke a sign-in (a lost phone): the device’s tokens, or all the user’s, issued until now')
    .requiredOption('--user <id>', 'user id')
    .option('--device <id>', 'device id (default: every device of the user)')
    .action(async (o: OperatorOptions & { user: string; device?: string }) => {
      print(await operatorClient(o).revokeSignIn(o.user, o.device));
    });
  asOperator(program.command('revocations'))
    .description('list the sign-in revocations in force')
    .action(async (o: OperatorOptions) => {
      print(await operatorClient(o).listRevocations());
    });

  deviceCommand(program, 'send', 'send a text message to a user or a group')
    .option('--to <user>', 'recipient user id')
    .option('--group <id>', 'group id')
    .requiredOption('--text <text>', 'message text')
    .option('--client-msg-id <id>', 'idempotency key (default: a new UUID)')
    .option(
      '--e2e',
      'encrypt end to end for every device of the readers; the conversation stays encrypted, later sends to it ' +
        'are encrypted without --e2e',
    )
    .action(async (o: SendCommandOptions) => {
      if ((o.to === undefined) === (o.group === undefined))
        throw new InvalidArgumentError('give exactly one of --to or --group');
      const to = o.to !== undefined ? { user: o.to } : { group: o.group! };
      // Without --e2e the SDK still encrypts where the conversation is encrypted on this device.
      const encrypted = o.e2e === true ? true : undefined;
      print(
        await withClient(o, async (c) => {
          const result = await c.send(to, { text: o.text }, o.clientMsgId, { encrypted });
          return sendJson(result, c.isEncrypted(result.conversation));
        }),
      );
    });

  deviceCommand(
    program,
    'listen',
    'print each message and notice delivered to the device as one JSON line (encrypted ones opened with its keys)',
  )
    .addOption(new Option('--count <n>', 'exit after n lines (messages and notices)').argParser(positiveInt))
    .addOption(new Option('--timeout <seconds>', 'exit after this long').argParser(positiveNumber))
    .action(async (o: DeviceOptions & { count?: number; timeout?: number }) => {
      let seen = 0;
      let done: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => (done = resolve));
      const onEntry = (json: object) => {
        if (o.count !== undefined && seen >= o.count) return;
        print(json);
        if (++seen === o.count) done();
      };
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
      await withClient(
        o,
        async () => {
          if (o.count !== undefined && seen >= o.count) return;
          const timer = o.timeout === undefined ? undefined : setTimeout(done, o.timeout * 1000);
          await finished;
          clearTimeout(timer);
        },
        { onEntry },
      );
      if (o.count !== undefined && seen < o.count) {
        throw Object.assign(new Error(`timed out with ${seen} of ${o.count} messages`), { code: 'TIMEOUT' });
      }
    });

  deviceCommand(
    program,
    'sync',
    'pull one page of the diff: {messages, sync_key, has_more} (encrypted ones opened with the device’s keys)',
  )
    .option('--key <sync_key>', 'start from this sync_key (default: the device’s saved key, else the beginning)')
    .addOption(new Option('--limit <n>', 'page size').argParser(positiveInt).default(100))
    .action(async (o: DeviceOptions & { key?: string; limit: number }) => {
      const key = o.key ?? loadState(o)?.syncKey ?? '';
      const opened = new OpenedEntries();
      const { page, messages } = await withClient(
        { ...o, state: false },
        async (c) => {
          const page = await c.getDiff(key, o.limit);
          return { page, messages: await opened.open(c, page.messages) };
        },
        { beforeConnect: (c) => opened.watch(c) },
      );
      // Without --key, the next `imctl sync` for this device continues from here.
      if (o.key === undefined) saveState(o, { syncKey: page.syncKey, inboxSeq: page.inboxSeq });
      print({
        messages: messages.map(chatMessageJson),
        sync_key: page.syncKey,
        has_more: page.hasMore,
        reset: page.reset,
        unread: Object.fromEntries(page.unread.map((c) => [c.conversation, c.unread])),
        total_unread: page.totalUnread,
      });
    });

  deviceCommand(program, 'read', 'mark a conversation read up to a seq (on every device of the user)')
    .requiredOption('--conversation <id>', 'dm:<a>:<b> or group:<id>')
    .requiredOption('--seq <n>', 'seq read up to (a message\'s "seq")', positiveInt)
    .option('--stream <s>', 'the message\'s "stream": inbox, or the conversation for a large group', 'inbox')
    .action(async (o: DeviceOptions & { conversation: string; seq: number; stream: string }) => {
      const result = await withClient({ ...o, state: false }, (c) => c.markRead(o.conversation, o.seq, o.stream));
      print({ conversation: o.conversation, read_seq: o.seq, stream: o.stream, seq: result.seq });
    });

  for (const [name, description] of [
    ['recall', 'take back a message you sent (within the recall window)'],
    ['edit', 'replace the text of a message you sent'],
  ] as const) {
    const command = deviceCommand(program, name, description)
      .requiredOption('--conversation <id>', 'dm:<a>:<b> or group:<id>')
      .requiredOption('--client-msg-id <id>', 'client_msg_id of the message')
      .option('--from-device <id>', 'device that sent it (default: --device)');
    if (name === 'edit') command.requiredOption('--text <text>', 'new text');
    command.action(
      async (o: DeviceOptions & { conversation: string; clientMsgId: string; fromDevice?: string; text?: string }) => {
        const target = {
          conversation: o.conversation,
          fromDevice: o.fromDevice ?? o.device,
          clientMsgId: o.clientMsgId,
        };
        const { result, encrypted } = await withClient({ ...o, state: false }, async (c) => {
          const result = await (name === 'edit' ? c.edit(target, o.text ?? '') : c.recall(target));
          return { result, encrypted: name === 'edit' && c.isEncrypted(o.conversation) };
        });
        print({
          op: name,
          server_msg_id: result.serverMsgId,
          seq: result.seq,
          conversation: result.conversation,
          ...(encrypted ? { encrypted: true } : {}),
        });
      },
    );
  }

  const group = program.command('group').description('manage groups');
  const groupJson = (g: GroupInfo) => ({
    group_id: g.groupId,
    name: g.name,
    owner: g.owner,
    member_count: g.memberCount,
    // The caller's role after the command; null once they are no longer a member.
    role: groupRoleName(g.role) ?? null,
    dissolved: g.dissolved,
  });
  const memberJson = (m: GroupMember) => ({ user: m.user, role: groupRoleName(m.role) ?? null });
  const summaryJson = (g: GroupSummary) => ({
    group_id: g.groupId,
    name: g.name,
    owner: g.owner,
    role: groupRoleName(g.role) ?? null,
    created_at_ms: g.createdAtMs,
  });
  const paging = (command: Command) =>
    command
      .option('--cursor <cursor>', 'continue after this page (next_cursor of the previous one)', '')
      .addOption(new Option('--limit <n>', 'page size (0: the server’s default)').argParser(nonNegativeInt).default(0))
      .option('--all', 'follow next_cursor and print everything as one page');
  type Paging = { cursor: string; limit: number; all?: boolean };

  deviceCommand(group, 'create', 'create a group owned by --user')
    .requiredOption('--name <name>', 'group name')
    .requiredOption('--members <a,b,c>', 'members besides the owner', memberList)
    .action(async (o: DeviceOptions & { name: string; members: string[] }) => {
      print(groupJson(await withClient({ ...o, state: false }, (c) => c.createGroup(o.name, o.members))));
    });
  deviceCommand(group, 'add', 'add members (owner or admin)')
    .requiredOption('--group <id>', 'group id')
    .requiredOption('--members <a,b>', 'users to add', memberList)
    .action(async (o: DeviceOptions & { group: string; members: string[] }) => {
      print(groupJson(await withClient({ ...o, state: false }, (c) => c.addMembers(o.group, o.members))));
    });
  deviceCommand(group, 'remove', 'remove members (owner: anyone else; admin: plain members only)')
    .requiredOption('--group <id>', 'group id')
    .requiredOption('--members <a,b>', 'users to remove', memberList)
    .action(async (o: DeviceOptions & { group: string; members: string[] }) => {
      print(groupJson(await withClient({ ...o, state: false }, (c) => c.removeMembers(o.group, o.members))));
    });
  deviceCommand(group, 'leave', 'leave a group (the owner must hand over ownership or dissolve it first)')
    .requiredOption('--group <id>', 'group id')
    .action(async (o: DeviceOptions & { group: string }) => {
      print(groupJson(await withClient({ ...o, state: false }, (c) => c.leaveGroup(o.group))));
    });
  deviceCommand(group, 'dissolve', 'dissolve a group: removes everyone, refuses sends afterwards (owner only)')
    .requiredOption('--group <id>', 'group id')
    .action(async (o: DeviceOptions & { group: string }) => {
      print(groupJson(await withClient({ ...o, state: false }, (c) => c.dissolveGroup(o.group))));
    });
  deviceCommand(group, 'set-role', 'make a member an admin or a plain member, or the owner (owner only)')
    .requiredOption('--group <id>', 'group id')
    .requiredOption('--member <user>', 'the member whose role changes')
    .requiredOption('--role <role>', 'owner (hands ownership over; you become an admin), admin or member')
    .action(async (o: DeviceOptions & { group: string; member: string; role: string }) => {
      const role = roleName(o.role);
      print(groupJson(await withClient({ ...o, state: false }, (c) => c.setMemberRole(o.group, o.member, role))));
    });
  paging(deviceCommand(group, 'members', 'list the members of a group with their roles, ordered by user id'))
    .requiredOption('--group <id>', 'group id')
    .action(async (o: DeviceOptions & Paging & { group: string }) => {
      const { entries, next } = await withClient({ ...o, state: false }, async (c) => {
        if (o.all) return { entries: await c.allGroupMembers(o.group, o.limit), next: '' };
        const page = await c.groupMembers(o.group, { cursor: o.cursor, limit: o.limit });
        return { entries: page.entries, next: page.nextCursor };
      });
      print({
        group_id: o.group,
        members: entries.map((m) => m.user),
        entries: entries.map(memberJson),
        next_cursor: next,
      });
    });
  paging(deviceCommand(group, 'list', 'list the groups --user is in, with their role, ordered by group id')).action(
    async (o: DeviceOptions & Paging) => {
      const { groups, next } = await withClient({ ...o, state: false }, async (c) => {
        const all: GroupSummary[] = [];
        let cursor = o.cursor;
        do {
          const page = await c.listGroups({ cursor, limit: o.limit });
          all.push(...page.groups);
          cursor = page.nextCursor;
        } while (o.all && cursor !== '');
        return { groups: all, next: cursor };
      });
      print({ groups: groups.map(summaryJson), next_cursor: next });
    },
  );

  addNoticeCommands(program);
  addPushCommands(program, withClient);
  addSearchCommand(program, withClient);
  addSafetyNumberCommand(program, withClient);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError && !(err instanceof InvalidArgumentError)) {
      // Commander already printed help or a usage message; --help and --version are not failures.
      process.exitCode = err.exitCode;
      return;
    }
    const code =
      err instanceof InvalidArgumentError
        ? 'INVALID_ARGUMENT'
        : ((err as { code?: string }).code ?? toImError(err).code);
    // The notice API names the request field it refused, when there is one.
    const field = err instanceof ImError ? err.field : undefined;
    const error = { code, message: (err as Error).message, ...(field === undefined ? {} : { field }) };
    process.stderr.write(JSON.stringify({ error }) + '\n');
    process.exitCode = 1;
  }
}
