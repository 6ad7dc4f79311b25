import type { Command } from 'commander';
import { deviceCommand, nonNegativeInt, oneOf, positiveInt, print, type DeviceOptions } from './cli.ts';
import type { SearchHit, SearchOptions } from './sdk.ts';
import type { WithClient } from './imctl-push.ts';

const KINDS = ['dm', 'group', 'notice'] as const;
const ORDERS = ['newest', 'relevance'] as const;

type SearchCommandOptions = DeviceOptions & {
  conversation?: string;
  from?: string;
  since?: number;
  until?: number;
  kind?: string;
  order?: string;
  limit?: number;
  cursor?: string;
};

/** A hit as `imctl search` prints it (snake_case, as GET /v1/search answers). */
const hitJson = (h: SearchHit) => ({
  server_msg_id: h.serverMsgId,
  conversation: h.conversation,
  stream: h.stream,
  seq: h.seq,
  from_user: h.fromUser,
  sent_at_ms: h.sentAtMs,
  kind: h.kind,
  snippet: h.snippet,
  highlights: h.highlights,
});

/** `imctl search --user U "words"`: one page of the messages the user may read holding every word. */
export function addSearchCommand(program: Command, withClient: WithClient): void {
  deviceCommand(program, 'search', 'find messages --user may read by words in them: {hits, next_cursor}')
    .argument('<words...>', 'the words (every one must be found)')
    .option('--conversation <id>', 'only this conversation (dm:<a>:<b>, group:<id>, system)')
    .option('--from <user>', 'only messages this user sent')
    .option('--since <ms>', 'sent at or after (ms since the epoch)', nonNegativeInt)
    .option('--until <ms>', 'sent at or before (ms since the epoch)', nonNegativeInt)
    .option('--kind <kind>', KINDS.join(', '))
    .option('--order <order>', `${ORDERS.join(' (default) or ')}`)
    .option('--limit <n>', 'hits per page, at most 50 (default 20)', positiveInt)
    .option('--cursor <cursor>', 'the previous page’s next_cursor')
    .action(async (words: string[], o: SearchCommandOptions) => {
      const options: SearchOptions = { text: words.join(' ') };
      if (o.conversation !== undefined) options.conversation = o.conversation;
      if (o.from !== undefined) options.fromUser = o.from;
      if (o.since !== undefined) options.fromMs = o.since;
      if (o.until !== undefined) options.toMs = o.until;
      if (o.kind !== undefined) options.kind = oneOf('--kind', o.kind, KINDS);
      if (o.order !== undefined) options.order = oneOf('--order', o.order, ORDERS);
      if (o.limit !== undefined) options.limit = o.limit;
      if (o.cursor !== undefined) options.cursor = o.cursor;
      const page = await withClient({ ...o, state: false }, (c) => c.search(options));
      print({ hits: page.hits.map(hitJson), next_cursor: page.nextCursor });
    });
}
