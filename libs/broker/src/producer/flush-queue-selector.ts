import type { QueuedMessage } from '../store/messages';
import { QueueSelector } from './queue-selector';

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
  private readonly turns = new QueueSelector();

  /** Assigns the flush's queue to every ANY_QUEUE message of `batch`, in place. */
  assign(batch: readonly QueuedMessage[]): void {
    let chosen: Map<string, number> | null = null;
    // a flush is mostly one topic: remember the last choice before looking it up
    let lastTopic: string | null = null;
    let lastQueue = 0;
    for (const message of batch) {
      if (message.queueId !== ANY_QUEUE) continue;
      if (message.topic !== lastTopic) {
        chosen ??= new Map();
        let queueId = chosen.get(message.topic);
        if (queueId === undefined) {
          queueId = this.turns.nextQueue(message.topic, message.queueCount);
          chosen.set(message.topic, queueId);
        }
        lastTopic = message.topic;
        lastQueue = queueId;
      }
      message.queueId = lastQueue;
    }
  }
}
