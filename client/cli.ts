import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { OperatorClient } from './notice-api.ts';

/**
 * What imctl's commands share: where the server is, printing, parsing option values, the options of commands run
 * as a device, and the operator's credential.
 */

export const DEFAULT_SERVER = process.env.IM_SERVER ?? 'ws://127.0.0.1:7400';

/** The HTTP APIs are served on the gateway's port in embedded mode: the same address, over http. */
export const DEFAULT_API =
  process.env.IM_API ?? DEFAULT_SERVER.replace(/^ws(s?):/, 'http$1:').replace(/\/v1\/ws\/?$/, '');

export const print = (value: unknown) => process.stdout.write(JSON.stringify(value) + '\n');

export const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
};
export const positiveNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
};
export const nonNegativeInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
};
/** "a,b,c" as a list of at least one. */
export const memberList = (value: string) => {
  const members = value
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  if (members.length === 0) throw new InvalidArgumentError('must name at least one user');
  return members;
};

/** `value` when it is one of `allowed`; checked in actions (not as a Commander argParser), so refusals print as JSON. */
export function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new InvalidArgumentError(`${option} must be ${allowed.join(' or ')}, not ${JSON.stringify(value)}`);
  return value as T;
}

/** The options of a command run as one device of a user (deviceCommand). */
export interface DeviceOptions {
  user: string;
  device: string;
  server: string;
  token?: string;
  state: boolean;
  /** The device's end-to-end key file (default: imctl-e2e-keys.ts's e2eKeysPath for the signed-in device). */
  e2eKeys?: string;
}

export function deviceCommand(
  program: Command,
  name: string,
  description: string,
  { userRequired = true } = {},
): Command {
  const command = program.command(name).description(description);
  // Not required where the command has subcommands of its own (commander checks a parent's required options for them).
  return (userRequired ? command.requiredOption('--user <id>', 'user id') : command.option('--user <id>', 'user id'))
    .option('--device <id>', 'device id', 'cli')
    .option('--server <url>', 'gateway address', DEFAULT_SERVER)
    .option('--token <token>', 'access token (default: signed with the local dev key)')
    .option('--no-state', 'do not load or save this device’s sync state')
    .option(
      '--e2e-keys <file>',
      'this device’s end-to-end keys and sessions, kept between runs (default: <user>.<device>.json in ' +
        '$IM_E2E_KEYS_DIR, else in e2e/ of $IM_HOME or ~/.im); another file is another device, which cannot ' +
        'read what was sent before it',
    );
}

export interface OperatorOptions {
  api: string;
  operatorToken?: string;
}

export const httpUrl = (value: string) => {
  if (!/^https?:\/\/[^/]/.test(value)) throw new InvalidArgumentError('must be an http:// or https:// address');
  return value;
};

/** --api: the notice and operator API's address (embedded: the server's; cluster mode: a logic process's). */
export const withApi = (command: Command) =>
  command.addOption(
    new Option('--api <url>', 'notice and operator API address (cluster mode: the logic process’s)')
      .argParser(httpUrl)
      .default(DEFAULT_API),
  );

/** --api and --operator-token, for a command of the operator API (served where the notice API is). */
export const asOperator = (command: Command) =>
  withApi(command).option(
    '--operator-token <token>',
    'default: IM_OPERATOR_TOKEN, else the file operator-token in the data directory (IM_DATA_DIR, default .data)',
  );

export function operatorClient(o: OperatorOptions): OperatorClient {
  let token = o.operatorToken ?? process.env.IM_OPERATOR_TOKEN;
  // The server writes the token into its data directory; run from where it started, this finds it.
  const file = resolve(process.env.IM_DATA_DIR ?? '.data', 'operator-token');
  try {
    token ||= readFileSync(file, 'utf8').trim();
  } catch {
    // No file: told below.
  }
  if (!token)
    throw new InvalidArgumentError(`no operator token: give --operator-token or IM_OPERATOR_TOKEN (${file} not found)`);
  return new OperatorClient({ baseUrl: o.api, token });
}
