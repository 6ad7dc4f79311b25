import { InvalidArgumentError } from 'commander';

/** What imctl's commands share: where the server is, printing, and parsing option values. */

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
