import fc from 'fast-check';
import { mutated } from './mutations.ts';

/**
 * Mutations of a valid JSON body, as fast-check arbitraries: structural ones (a value anywhere replaced by any JSON
 * value, a key dropped, an unknown key added, a key given twice with different values, the whole wrapped in an
 * array) and byte-level ones on the text. What API clients with bugs, or attackers, send.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

/** Every place in `value` a mutation can touch: the paths of all its values, the root included. */
function pathsOf(value: Json, at: Path = []): Path[] {
  const here = [at];
  if (Array.isArray(value)) return here.concat(...value.map((v, i) => pathsOf(v, [...at, i])));
  if (value !== null && typeof value === 'object') {
    return here.concat(...Object.entries(value).map(([k, v]) => pathsOf(v, [...at, k])));
  }
  return here;
}

/** `value` with the value at `path` replaced (undefined: removed). */
function replaced(value: Json, path: Path, by: Json | undefined): Json | undefined {
  if (path.length === 0) return by;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = value.slice();
    const v = replaced(copy[head as number]!, rest, by);
    if (v === undefined) copy.splice(head as number, 1);
    else copy[head as number] = v;
    return copy;
  }
  const copy = { ...(value as Record<string, Json>) };
  const v = replaced(copy[head as string]!, rest, by);
  if (v === undefined) delete copy[head as string];
  else copy[head as string] = v;
  return copy;
}

const anyJson = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>;
const key = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'toString'));

/** The text of `value` with `key` given again at the end of the top object, with `value2`. */
function withDuplicateKey(value: Json, k: string, value2: Json): string {
  const text = JSON.stringify(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !text.endsWith('}')) return text;
  const sep = Object.keys(value).length > 0 ? ',' : '';
  return `${text.slice(0, -1)}${sep}${JSON.stringify(k)}:${JSON.stringify(value2)}}`;
}

/** One structural or byte-level mutation of `valid`, as the bytes of a request body. */
export function mutatedJson(valid: unknown): fc.Arbitrary<Buffer> {
  const value = valid as Json;
  const paths = pathsOf(value);
  const at = fc.constantFrom(...paths);
  const text = (v: Json | undefined) => Buffer.from(v === undefined ? '' : JSON.stringify(v));
  const inner = paths.filter((p) => p.length > 0);
  const existingKeys = inner.filter((p) => p.length === 1 && typeof p[0] === 'string').map((p) => p[0] as string);
  // Not a filter of `at`: with nothing inside the value (`{}`), a filter would never find a path.
  const dropped = inner.length > 0 ? [fc.constantFrom(...inner).map((p) => text(replaced(value, p, undefined)))] : [];
  return fc.oneof(
    fc.tuple(at, anyJson).map(([p, by]) => text(replaced(value, p, by))),
    ...dropped,
    fc.tuple(key, anyJson).map(([k, v]) => Buffer.from(withDuplicateKey(value, k, v))),
    fc
      .tuple(existingKeys.length > 0 ? fc.constantFrom(...existingKeys) : key, anyJson)
      .map(([k, v]) => Buffer.from(withDuplicateKey(value, k, v))),
    fc.constant(text([value])),
    mutated(Buffer.from(JSON.stringify(value))).map((b) => Buffer.from(b)),
  );
}

/** Bodies with no relation to a valid one: any JSON, any text, any bytes. */
export const anyBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc.json({ maxDepth: 3 }).map((t) => Buffer.from(t)),
  fc.string({ maxLength: 200 }).map((t) => Buffer.from(t)),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
);

/** Mutations of valid bodies drawn from `valids`. */
export function mutatedJsonAny(valids: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer> {
  return valids.chain((v) => mutatedJson(v));
}
