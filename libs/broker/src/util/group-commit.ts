import { DatabaseError } from 'pg';

interface Request<I, R> {
  items: I[];
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces concurrent writes into one round trip. The first request is flushed at
 * once (no waiting when idle); requests arriving while a flush is in flight are
 * queued and go out together in the next one. One flush in flight: measured faster
 * than several, because the batches grow instead of contending on queue rows.
 */
export class GroupCommit<I, R> {
  private pending: Request<I, R>[] = [];
  private flushing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly flush: (items: I[]) => Promise<R[]>,
    private readonly maxBatchSize: number,
  ) {}

  submit(items: I[]): Promise<R[]> {
    return new Promise<R[]>((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      if (!this.flushing) void this.run();
    });
  }

  /** Resolves once nothing is queued or in flight. */
  drain(): Promise<void> {
    if (!this.flushing && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private takeBatch(): Request<I, R>[] {
    let count = 0;
    let taken = 0;
    while (taken < this.pending.length) {
      const size = this.pending[taken].items.length;
      if (taken > 0 && count + size > this.maxBatchSize) break;
      count += size;
      taken += 1;
    }
    return this.pending.splice(0, taken);
  }

  private async run(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.takeBatch();
        try {
          await this.write(batch);
        } catch (error) {
          // The server refused the statement, so nothing of it was stored: retry each
          // request alone, so one bad request cannot fail the others batched with it.
          if (batch.length > 1 && error instanceof DatabaseError) {
            for (const request of batch) await this.write([request]).catch(request.reject);
          } else {
            for (const request of batch) request.reject(error);
          }
        }
        // Let the callers just answered run on and send again before deciding the
        // next batch; otherwise the first of them flushes alone and batches
        // alternate 1 / N (measured: 8.8k vs 2x that for 32 callers).
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.flushing = false;
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private async write(batch: Request<I, R>[]): Promise<void> {
    const results = await this.flush(batch.flatMap((request) => request.items));
    let at = 0;
    for (const request of batch) {
      request.resolve(results.slice(at, at + request.items.length));
      at += request.items.length;
    }
  }
}
