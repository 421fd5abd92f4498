import { DatabaseError } from 'pg';

interface Request<I, R> {
  items: I[];
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces concurrent writes into few round trips. When idle, a request is flushed
 * at once (no artificial wait); requests arriving meanwhile queue up and go out
 * together. With `maxInFlight` > 1 (on a pipelined connection, which runs them in
 * order) the queue is split over the free slots, so the database works on one
 * flush while this process prepares the next.
 */
export class GroupCommit<I, R> {
  private pending: Request<I, R>[] = [];
  private inFlight = 0;
  private kickScheduled = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly flush: (items: I[]) => Promise<R[]>,
    private readonly maxBatchSize: number,
    private readonly maxInFlight = 1,
  ) {}

  submit(items: I[]): Promise<R[]> {
    return new Promise<R[]>((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      if (this.inFlight === 0 && !this.kickScheduled) this.kick();
    });
  }

  /** Resolves once nothing is queued or in flight. */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private kick(): void {
    this.kickScheduled = false;
    const slots = this.maxInFlight - this.inFlight;
    if (slots <= 0 || this.pending.length === 0) {
      if (this.inFlight === 0 && this.pending.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      return;
    }
    const queued = this.pending.reduce((n, r) => n + r.items.length, 0);
    const share = Math.max(1, Math.ceil(queued / slots));
    for (let slot = 0; slot < slots && this.pending.length > 0; slot += 1) {
      const batch = this.takeBatch(Math.min(share, this.maxBatchSize));
      this.inFlight += 1;
      void this.writeBatch(batch).finally(() => {
        this.inFlight -= 1;
        this.scheduleKick();
      });
    }
  }

  /**
   * After a flush, let the callers it answered run on and send again before the
   * next batch is cut; otherwise the first of them flushes alone and batches
   * alternate 1 / N (measured: 8.8k vs 12-13k single sends/s with 32 callers).
   */
  private scheduleKick(): void {
    if (this.kickScheduled) return;
    this.kickScheduled = true;
    setImmediate(() => this.kick());
  }

  private takeBatch(limit: number): Request<I, R>[] {
    let count = 0;
    let taken = 0;
    while (taken < this.pending.length) {
      const size = this.pending[taken].items.length;
      if (taken > 0 && count + size > limit) break;
      count += size;
      taken += 1;
    }
    return this.pending.splice(0, taken);
  }

  private async writeBatch(batch: Request<I, R>[]): Promise<void> {
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
