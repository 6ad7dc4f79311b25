import { InvalidArgumentError, type Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImError } from '../lib/errors.ts';
import {
  asOperator,
  deviceCommand,
  nonNegativeInt,
  oneOf,
  operatorClient,
  positiveInt,
  print,
  type DeviceOptions,
  type OperatorOptions,
} from './cli.ts';
import type { SearchReindexStatus } from './notice-api.ts';
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

/**
 * `imctl search --user U "words"`: one page of the messages the user may read holding every word; `imctl search
 * reindex`: the operator's rebuild of the index.
 */
export function addSearchCommand(program: Command, withClient: WithClient): void {
  const search = deviceCommand(
    program,
    'search',
    'find messages --user may read by words in them: {hits, next_cursor}',
    { userRequired: false },
  )
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
      if (o.user === undefined) throw new InvalidArgumentError("required option '--user <id>' not specified");
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
  addReindexCommand(search);
}

/** How often `imctl search reindex` asks how far the rebuild got. */
const REINDEX_POLL_MS = 1_000;

/**
 * `imctl search reindex`: starts the rebuild and, unless --no-wait, follows it to its end, a progress line a second
 * on stderr, the final status on stdout (exit status 1 if it failed).
 */
function addReindexCommand(search: Command): void {
  asOperator(search.command('reindex'))
    .description('rebuild the search index from the inbox store (operator); progress on stderr until it ends')
    .option('--no-wait', 'start it, print its status and return')
    .action(async (o: OperatorOptions & { wait: boolean }) => {
      const operator = operatorClient(o);
      let status: SearchReindexStatus = await operator.startSearchReindex();
      if (o.wait) {
        while (status.state === 'running') {
          const { scanned, applied } = status;
          process.stderr.write(`${JSON.stringify({ progress: { state: status.state, scanned, applied } })}\n`);
          await sleep(REINDEX_POLL_MS);
          status = await operator.searchReindexStatus();
        }
      }
      print(status);
      if (status.state === 'failed') throw new ImError('INTERNAL', `reindex failed: ${status.error ?? 'unknown'}`);
    });
}
