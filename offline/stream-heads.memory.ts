import type { StreamHead, StreamHeads } from './stream-heads.ts';

export class MemoryStreamHeads implements StreamHeads {
  private readonly heads_ = new Map<string, { seq: number; index: number }>();

  advance(entries: readonly StreamHead[]): Promise<void> {
    for (const { stream, seq, index } of entries) {
      if (seq > (this.heads_.get(stream)?.seq ?? 0)) this.heads_.set(stream, { seq, index });
    }
    return Promise.resolve();
  }

  heads(streams: readonly string[]): Promise<{ seq: number; index: number }[]> {
    return Promise.resolve(streams.map((s) => this.heads_.get(s) ?? { seq: 0, index: 0 }));
  }
}
