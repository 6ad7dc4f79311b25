import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { asOperator, memberList, operatorClient, positiveInt, print, withApi, type OperatorOptions } from './cli.ts';
import { NoticeApiClient, type NoticeTarget, type Priority, type Scope, type SendNoticeRequest } from './notice-api.ts';
import type { NoticeEntry } from './notices.ts';

/** imctl's commands of the notice API: apps (operator), notices and tags (signed as an app). */

const SCOPES: readonly Scope[] = ['unicast', 'multicast', 'tag', 'broadcast', 'read'];
const PRIORITIES: readonly Priority[] = ['high', 'normal', 'low'];

interface ApiOptions {
  api: string;
}
interface AppOptions extends ApiOptions {
  app?: string;
  secret?: string;
}

const scopeList = (value: string) => {
  const scopes = memberList(value);
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown ${unknown.join(', ')}; scopes: ${SCOPES.join(', ')}`);
  return scopes as Scope[];
};
const dataPair = (value: string, previous: Record<string, string> = {}) => {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('must be key=value');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
};

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An ISO 8601 time, or "+<n><unit>" (ms, s, m, h, d) from now, as ms since the epoch. */
export function parseTime(value: string, now = Date.now()): number {
  const relative = /^\+(\d+)(ms|s|m|h|d)$/.exec(value);
  if (relative) return now + Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
  // Date.parse also takes loose forms ("1/2/3"); only ISO dates are meant.
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms))
    throw new InvalidArgumentError('must be an ISO time (2026-12-01T09:00:00Z) or +10s, +5m, …');
  return ms;
}

const asApp = (command: Command) =>
  withApi(command)
    .option('--app <id>', 'app id (default: IM_APP_ID)')
    .option('--secret <secret>', 'the app’s secret (default: IM_APP_SECRET)');

function appClient(o: AppOptions): NoticeApiClient {
  const appId = o.app ?? process.env.IM_APP_ID;
  const secret = o.secret ?? process.env.IM_APP_SECRET;
  if (!appId || !secret)
    throw new InvalidArgumentError('give the app’s credential: --app and --secret, or IM_APP_ID and IM_APP_SECRET');
  return new NoticeApiClient({ baseUrl: o.api, appId, secret });
}

export function addNoticeCommands(program: Command): void {
  const app = program.command('app').description('manage the apps that may send notices (operator)');
  asOperator(app.command('create'))
    .description('register an app; prints its secret, this once')
    .requiredOption('--name <name>', 'app name')
    .requiredOption('--scopes <a,b>', `what it may do: ${SCOPES.join(', ')}`, scopeList)
    .option('--requests-per-second <n>', 'request budget', positiveInt)
    .option('--recipients-per-second <n>', 'recipient budget, summed over requests', positiveInt)
    .action(
      async (
        o: OperatorOptions & {
          name: string;
          scopes: Scope[];
          requestsPerSecond?: number;
          recipientsPerSecond?: number;
        },
      ) => {
        const limits = { requests_per_second: o.requestsPerSecond, recipients_per_second: o.recipientsPerSecond };
        const given = o.requestsPerSecond !== undefined || o.recipientsPerSecond !== undefined;
        const created = await operatorClient(o).createApp({
          name: o.name,
          scopes: o.scopes,
          ...(given ? { rate_limits: limits } : {}),
        });
        print({ ...created, note: 'the secret is shown this once: store it now (notice commands: --secret)' });
      },
    );
  asOperator(app.command('list'))
    .description('list apps in id order, revoked ones included (never their secrets)')
    .option('--after <id>', 'start after this id (a previous page’s next)')
    .option('--limit <n>', 'page size', positiveInt)
    .action(async (o: OperatorOptions & { after?: string; limit?: number }) => {
      print(await operatorClient(o).listApps({ after: o.after, limit: o.limit }));
    });
  asOperator(app.command('revoke <id>'))
    .description('revoke an app: its requests are refused from now on')
    .action(async (id: string, o: OperatorOptions) => {
      print(await operatorClient(o).revokeApp(id));
    });

  const notice = program.command('notice').description('send and follow system notices (as an app)');
  asApp(notice.command('send'))
    .description('send a notice to users, a tag or everyone')
    .option('--to <a,b>', 'these users', memberList)
    .option('--tag <tag>', 'users the app tagged so')
    .option('--all', 'everyone')
    .requiredOption('--title <text>', 'title')
    .requiredOption('--body <text>', 'body')
    .option('--data <key=value>', 'a field for the app’s client (repeat for more)', dataPair)
    .addOption(new Option('--priority <p>', 'priority').choices(PRIORITIES))
    .option('--at <time>', 'deliver at: ISO time or +10s, +5m, … (default now)', (v) => parseTime(v))
    .option('--ttl <seconds>', 'lifetime after delivery', positiveInt)
    .option('--expire-at <time>', 'gone after: ISO time or +10s, +5m, …', (v) => parseTime(v))
    .option('--message-id <id>', 'idempotency key (default: a new UUID)')
    .option('--image-url <url>', 'image')
    .option('--sound <name>', 'sound')
    .option('--category <name>', 'category')
    .option('--collapse-key <key>', 'notices with the same key replace each other on screen')
    .action(async (o: SendOptions) => {
      print(await appClient(o).send(sendRequest(o)));
    });
  asApp(notice.command('status <id>'))
    .description('a notice’s state, counts and recipients')
    .action(async (id: string, o: AppOptions) => {
      print(await appClient(o).get(id));
    });
  asApp(notice.command('cancel <id>'))
    .description('cancel a notice: never fired, or taken back from everyone who got it')
    .action(async (id: string, o: AppOptions) => {
      print(await appClient(o).cancel(id));
    });
  asApp(notice.command('list'))
    .description('list the app’s notices')
    .option('--state <state>', 'only in this state: scheduled, firing, sent, cancelled, expired')
    .option('--after <id>', 'start after this id (a previous page’s next)')
    .option('--limit <n>', 'page size', positiveInt)
    .action(async (o: AppOptions & { state?: string; after?: string; limit?: number }) => {
      print(await appClient(o).list({ state: o.state, after: o.after, limit: o.limit }));
    });

  asApp(program.command('tag <tag>'))
    .description('tag users for the app (and untag them), for notices sent to the tag')
    .option('--add <a,b>', 'users to tag', memberList)
    .option('--remove <a,b>', 'users to untag', memberList)
    .action(async (tag: string, o: AppOptions & { add?: string[]; remove?: string[] }) => {
      if (!o.add && !o.remove) throw new InvalidArgumentError('give --add, --remove or both');
      print(await appClient(o).tag(tag, { add: o.add, remove: o.remove }));
    });
}

type SendOptions = AppOptions & {
  to?: string[];
  tag?: string;
  all?: boolean;
  title: string;
  body: string;
  data?: Record<string, string>;
  priority?: Priority;
  at?: number;
  ttl?: number;
  expireAt?: number;
  messageId?: string;
  imageUrl?: string;
  sound?: string;
  category?: string;
  collapseKey?: string;
};

function sendRequest(o: SendOptions): SendNoticeRequest {
  if ([o.to, o.tag, o.all].filter((t) => t !== undefined).length !== 1)
    throw new InvalidArgumentError('give exactly one of --to, --tag or --all');
  const target: NoticeTarget = o.to ? { users: o.to } : o.tag !== undefined ? { tag: o.tag } : { all: true };
  // Options not given stay out of the JSON (undefined is not serialized): the server's defaults apply.
  return {
    message_id: o.messageId ?? randomUUID(),
    target,
    content: {
      title: o.title,
      body: o.body,
      data: o.data,
      image_url: o.imageUrl,
      sound: o.sound,
      category: o.category,
      collapse_key: o.collapseKey,
    },
    priority: o.priority,
    deliver_at_ms: o.at,
    expire_at_ms: o.expireAt,
    ttl_sec: o.ttl,
  };
}

/** A notice as `imctl listen` prints it: one JSON line, snake_case like messages, told apart by `kind`. */
export function noticeJson(n: NoticeEntry) {
  return {
    kind: 'notice',
    notice_id: n.noticeId,
    app_id: n.appId,
    title: n.title,
    body: n.body,
    data: n.data,
    image_url: n.imageUrl,
    sound: n.sound,
    category: n.category,
    collapse_key: n.collapseKey,
    priority: n.priority,
    expire_at_ms: n.expireAtMs,
    audience: n.audience,
    seq: n.seq,
    stream: n.stream,
    sent_at_ms: n.sentAtMs,
    server_msg_id: n.serverMsgId,
  };
}
