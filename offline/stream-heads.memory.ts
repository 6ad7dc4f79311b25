import type { StreamHeads } from './stream-heads.ts';

export class MemoryStreamHeads implements StreamHeads {
  private readonly heads_ = new Map<string, number>();

  advance(entries: readonly { stream: string; seq: number }[]): Promise<void> {
    for (const { stream, seq } of entries) this.heads_.set(stream, Math.max(this.heads_.get(stream) ?? 0, seq));
    return Promise.resolve();
  }

  heads(streams: readonly string[]): Promise<number[]> {
    return Promise.resolve(streams.map((s) => this.heads_.get(s) ?? 0));
  }
}
