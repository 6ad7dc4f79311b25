import { echo } from './echo.ts';
import { ImError } from './errors.ts';

/** User, device and group ids: short, printable, and free of the ':' that separates conversation parts. */
const ID_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

export function isId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export function assertId(kind: 'user' | 'device' | 'group', id: string): string {
  if (!isId(id)) {
    throw new ImError('INVALID_ARGUMENT', `${kind} id must be 1-64 characters of [A-Za-z0-9_.@-], got ${echo(id)}`);
  }
  return id;
}

/**
 * Conversation ids (also the `chat_input` partition key, so one conversation keeps its order):
 *   dm:<a>:<b>    a 1:1 conversation, the two user ids sorted so both sides name it alike
 *   group:<id>    a group
 *   system        the user's system notices (a bus record of a read marker there is keyed system:<user>)
 */
export function dmConversation(a: string, b: string): string {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

export function groupConversation(groupId: string): string {
  return `group:${groupId}`;
}

export function isGroupConversation(conversation: string): boolean {
  return conversation.startsWith('group:');
}

/** Every user's system notices: one conversation, whatever app sent them (Message.notice names the app). */
export const SYSTEM_CONVERSATION = 'system';

/** The group id of a "group:<id>" conversation. */
export function groupIdOf(conversation: string): string {
  return conversation.slice('group:'.length);
}
