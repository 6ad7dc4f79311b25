import type { Message } from '../../proto/gen/im/v1/message.pb.ts';

/** Characters of a message's text a lock screen shows at most. */
export const PREVIEW_CHARS = 120;

/** What the lock screen shows of a message or notice, when the device allows previews; a generic text otherwise. */
export function pushText(m: Message, previews: boolean): { title: string; body: string } {
  const notice = m.notice;
  if (notice) return previews ? { title: notice.title, body: excerpt(notice.body) } : { title: '', body: 'New notice' };
  // Only plain text is ever shown: anything else (an end-to-end ciphertext among it) is opaque to the server.
  if (!previews || m.contentType !== 'text/plain') return { title: '', body: 'New message' };
  const title = m.conversation.startsWith('group:') ? `${m.fromUser} in a group` : m.fromUser;
  return { title, body: excerpt(Buffer.from(m.body).toString('utf8')) };
}

/** At most PREVIEW_CHARS characters (code points), with an ellipsis when cut. */
function excerpt(text: string): string {
  const chars = [...text];
  return chars.length <= PREVIEW_CHARS ? text : `${chars.slice(0, PREVIEW_CHARS - 1).join('')}…`;
}
