import type { IndexOp, SearchDoc } from './search-index.ts';
import { withoutMarks } from './snippet.ts';

/** What an index holds under one id: a document, a deletion remembered (so a replay cannot undo it), or nothing. */
export type DocState = SearchDoc | 'deleted' | undefined;

/**
 * The one rule for how an op changes what an index holds (the port's `IndexOp` contract), shared by every adapter.
 * Returns `state` itself when nothing changes, so a caller can tell a no-op (a replay) and write nothing.
 */
export function nextState(state: DocState, op: IndexOp): DocState {
  if (op.op === 'delete') return 'deleted';
  if (state === 'deleted') return state;
  if (op.op === 'edit') {
    if (state === undefined) return state;
    const reached = op.readers && new Set(op.readers);
    const readers = reached ? state.readers.filter((r) => reached.has(r.user)) : state.readers;
    return { ...state, text: withoutMarks(op.text), readers };
  }
  if (state === undefined) return structuredClone({ ...op.doc, text: withoutMarks(op.doc.text) });
  const known = new Set(state.readers.map((r) => r.user));
  const added = op.doc.readers.filter((r) => !known.has(r.user));
  if (added.length === 0) return state;
  return { ...state, readers: [...state.readers, ...added.map((r) => ({ user: r.user, seq: r.seq }))] };
}
