import type { AppendResult, QueuedMessage } from '../store/messages';
import { queueKey } from '../util/keys';

/**
 * The highest offset per queue whose send this broker has acknowledged. A LAST_OFFSET
 * simple consumer reads it when created: the database clock alone places its start only
 * to within a round trip, so a message this process sent just before would slip in.
 */
export class AppendedOffsets {
  private readonly highest = new Map<string, number>();

  /** Called by the group commit after a flush commits, before its sends resolve. */
  record(batch: readonly QueuedMessage[], results: readonly AppendResult[]): void {
    // a flush is mostly runs of one queue: one map update per run, not per message
    let topic: string | null = null;
    let queueId = -1;
    let highest = -1;
    for (let i = 0; i <= results.length; i++) {
      if (i === results.length || batch[i].topic !== topic || results[i].queueId !== queueId) {
        if (topic !== null) {
          const key = queueKey(topic, queueId);
          if (highest > (this.highest.get(key) ?? -1)) this.highest.set(key, highest);
        }
        if (i === results.length) break;
        topic = batch[i].topic;
        queueId = results[i].queueId;
        highest = -1;
      }
      highest = Math.max(highest, results[i].queueOffset);
    }
  }

  /** The recorded offsets of `topics`' queues, by queueKey; a copy, so later sends do not move it. */
  snapshot(topics: readonly string[]): Map<string, number> {
    const wanted = new Set(topics);
    const copy = new Map<string, number>();
    for (const [key, offset] of this.highest) {
      if (wanted.has(key.slice(0, key.indexOf('\u0000')))) copy.set(key, offset);
    }
    return copy;
  }
}
