import type { QueuedMessage } from '../store/statements';

/** Set on a message whose queue the flush picks (no messageGroup, so no order to keep). */
export const ANY_QUEUE = -1;

/**
 * Picks queues per flush instead of per message: every message of a topic without a
 * messageGroup in one group-commit flush goes to the same queue, the next flush to
 * the next one. Spreading stays even over time, and a flush bumps one queue counter
 * per topic instead of one per queue: each bump is a new row version, which a long
 * snapshot keeps alive (bench/README.md, "Long snapshots": the decay slowed ~8x).
 */
export class FlushQueueSelector {
  private readonly next = new Map<string, number>();

  /** Assigns the flush's queue to every ANY_QUEUE message of `batch`, in place. */
  assign(batch: readonly QueuedMessage[]): void {
    const chosen = new Map<string, number>();
    for (const message of batch) {
      if (message.queueId !== ANY_QUEUE) continue;
      let queueId = chosen.get(message.topic);
      if (queueId === undefined) {
        const count = message.queueCount ?? 1;
        queueId = ((this.next.get(message.topic) ?? -1) + 1) % count;
        this.next.set(message.topic, queueId);
        chosen.set(message.topic, queueId);
      }
      message.queueId = queueId;
    }
  }
}
