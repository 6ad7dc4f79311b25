import fc from 'fast-check';

/**
 * Byte-level mutations of a valid encoding, as fast-check arbitraries: what a broken or hostile client makes of a
 * frame or body it once had right. Shared by the property tests (decoders in-process) and `npm run fuzz` (a
 * running server). Every mutation keeps the result small: at most the input plus MAX_GROWTH bytes.
 */
const MAX_GROWTH = 64;

const noise = (maxLength = MAX_GROWTH) => fc.uint8Array({ minLength: 1, maxLength });

/** The largest 32-bit varint: a length or count field claiming 4 GiB follows. */
const HUGE_VARINT = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f);

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** One bit flipped. */
const bitFlip = (b: Uint8Array) =>
  fc.tuple(fc.nat({ max: b.length - 1 }), fc.nat({ max: 7 })).map(([i, bit]) => {
    const out = Uint8Array.from(b);
    out[i]! ^= 1 << bit;
    return out;
  });

/** One byte set to any value. */
const byteSet = (b: Uint8Array) =>
  fc.tuple(fc.nat({ max: b.length - 1 }), fc.nat({ max: 255 })).map(([i, v]) => {
    const out = Uint8Array.from(b);
    out[i] = v;
    return out;
  });

/** Cut short anywhere (the empty encoding included). */
const truncation = (b: Uint8Array) => fc.nat({ max: b.length - 1 }).map((n) => b.slice(0, n));

/** Bytes appended: a trailing field, or garbage after the end. */
const extension = (b: Uint8Array) => noise().map((tail) => concat(b, tail));

/** Bytes inserted, or put in place of some, anywhere. */
const splice = (b: Uint8Array) =>
  fc
    .tuple(fc.nat({ max: b.length }), fc.nat({ max: 8 }), noise())
    .map(([at, cut, bytes]) => concat(b.subarray(0, at), bytes, b.subarray(Math.min(b.length, at + cut))));

/**
 * A stretch of the encoding repeated after itself: in protobuf the whole encoding twice is every field duplicated
 * (last scalar wins, messages merge, repeated fields grow); a part twice duplicates some fields or tears one.
 */
const duplication = (b: Uint8Array) =>
  fc.tuple(fc.nat({ max: b.length }), fc.nat({ max: b.length })).map(([x, y]) => {
    const [from, to] = x <= y ? [x, y] : [y, x];
    return from === to ? concat(b, b) : concat(b.subarray(0, to), b.subarray(from, to), b.subarray(to));
  });

/** A huge varint written over a byte: a length prefix or count that claims far more than follows. */
const hugeLength = (b: Uint8Array) =>
  fc.nat({ max: b.length - 1 }).map((i) => concat(b.subarray(0, i), HUGE_VARINT, b.subarray(i + 1)));

/** Any one of the mutations of `valid` (an empty `valid` can only be extended). */
export function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  if (valid.length === 0) return extension(valid);
  return fc.oneof(
    bitFlip(valid),
    byteSet(valid),
    truncation(valid),
    extension(valid),
    splice(valid),
    duplication(valid),
    hugeLength(valid),
  );
}

/** One to `max` mutations applied one after another. */
export function mutatedRepeatedly(valid: Uint8Array, max = 3): fc.Arbitrary<Uint8Array> {
  let arb = mutated(valid);
  for (let i = 1; i < max; i++)
    arb = fc.oneof(
      arb,
      arb.chain((b) => mutated(b)),
    );
  return arb;
}

/** Mutations of a valid encoding drawn from any of `valids`. */
export function mutatedAny(valids: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return valids.chain((valid) => mutatedRepeatedly(valid));
}
