import { Command, InvalidArgumentError } from 'commander';
import {
  asOperator,
  deviceCommand,
  oneOf,
  operatorClient,
  positiveInt,
  print,
  type DeviceOptions,
  type OperatorOptions,
} from './cli.ts';
import { MAX_DEAD_LETTERS_PER_CALL, type OperatorClient } from './notice-api.ts';
import type { ImClient, PushDevice } from './sdk.ts';

/**
 * imctl's commands of mobile push: a device registers (and unregisters) its push token as itself, over the
 * WebSocket; the operator lists a user's devices and the dead letters, and replays them, over the operator API.
 */

const PLATFORMS = ['apns', 'fcm'] as const;
const ENVIRONMENTS = ['production', 'sandbox'] as const;

/** Runs `body` with a client connected as the device (imctl.ts's withClient). */
export type WithClient = <T>(o: DeviceOptions, body: (client: ImClient) => Promise<T>) => Promise<T>;

/** A registration as `imctl push register` and `unregister` print it (snake_case; never the token). */
export const pushDeviceJson = (d: PushDevice) => ({
  device: d.device,
  platform: d.platform,
  registered: d.registered,
  environment: d.environment,
  previews: d.previews,
  updated_at_ms: d.updatedAtMs,
});

type RegisterOptions = DeviceOptions & {
  platform: string;
  pushToken: string;
  topic?: string;
  environment?: string;
  locale?: string;
  previews: boolean;
};

export function addPushCommands(program: Command, withClient: WithClient): void {
  const push = program
    .command('push')
    .description('mobile push: device tokens (as the device), dead letters (operator)');

  deviceCommand(push, 'register', 'register the device’s APNs or FCM token: pushed to while it is not connected')
    .requiredOption('--platform <platform>', PLATFORMS.join(' or '))
    .requiredOption('--push-token <token>', 'the token APNs or FCM gave the app on the device (--token: access token)')
    .option('--topic <bundle>', 'the app’s bundle id (required for APNs)')
    .option('--environment <env>', `${ENVIRONMENTS.join(' or ')} (default: production)`)
    .option('--locale <tag>', 'language of the generic texts, e.g. en-US')
    .option('--no-previews', 'the lock screen shows a generic text, never the sender or the text')
    .action(async (o: RegisterOptions) => {
      // Checked before connecting; the server checks the rest (token, topic, locale) and names the field it refused.
      const registration = {
        platform: oneOf('--platform', o.platform, PLATFORMS),
        token: o.pushToken,
        previews: o.previews,
        ...(o.environment === undefined ? {} : { environment: oneOf('--environment', o.environment, ENVIRONMENTS) }),
        ...(o.topic === undefined ? {} : { topic: o.topic }),
        ...(o.locale === undefined ? {} : { locale: o.locale }),
      };
      print(pushDeviceJson(await withClient({ ...o, state: false }, (c) => c.registerPush(registration))));
    });
  deviceCommand(push, 'unregister', 'no more mobile pushes to the device (as at logout)').action(
    async (o: DeviceOptions) => {
      print(pushDeviceJson(await withClient({ ...o, state: false }, (c) => c.unregisterPush())));
    },
  );

  asOperator(push.command('list'))
    .description('the devices of a user registered for mobile push (operator; never their tokens)')
    .requiredOption('--user <id>', 'user id')
    .action(async (o: OperatorOptions & { user: string }) => {
      print(await operatorClient(o).listDevices(o.user));
    });

  const dlq = push.command('dlq').description('pushes still refused after the last try (operator)');
  asOperator(dlq.command('list'))
    .description('list the dead letters in id order')
    .option('--after <id>', 'start after this id (a previous page’s next)')
    .option('--limit <n>', `page size (default 50, at most ${MAX_DEAD_LETTERS_PER_CALL})`, positiveInt)
    .action(async (o: OperatorOptions & { after?: string; limit?: number }) => {
      print(await operatorClient(o).listDeadLetters({ after: o.after, limit: o.limit }));
    });
  asOperator(dlq.command('replay [id...]'))
    .description('send dead letters’ pushes again; they leave the list ({replayed}: how many were still there)')
    .option('--all', 'every dead letter listed now')
    .action(async (ids: string[], o: OperatorOptions & { all?: boolean }) => {
      if (ids.length > 0 === (o.all === true)) throw new InvalidArgumentError('give dead letter ids or --all');
      const client = operatorClient(o);
      const chosen = o.all ? await allDeadLetterIds(client) : [...new Set(ids)];
      let replayed = 0;
      for (let i = 0; i < chosen.length; i += MAX_DEAD_LETTERS_PER_CALL) {
        replayed += (await client.replayDeadLetters(chosen.slice(i, i + MAX_DEAD_LETTERS_PER_CALL))).replayed;
      }
      print({ replayed });
    });
}

/**
 * The ids of every dead letter, all pages read before any is replayed: a replayed push refused again is listed
 * again (under its id), and waits for the next run instead of being replayed twice in this one.
 */
async function allDeadLetterIds(client: OperatorClient): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await client.listDeadLetters({ after, limit: MAX_DEAD_LETTERS_PER_CALL });
    ids.push(...page.dead_letters.map((l) => l.id));
    // A next that does not move on would page forever.
    if (!page.next || page.next === after) return ids;
    after = page.next;
  }
}
