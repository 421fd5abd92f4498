/**
 * Which queue of a topic a message goes to (RocketMQ's PublishingLoadBalancer): a
 * messageGroup always to the same queue, by hash, so its messages stay in send order;
 * anything else to the topic's queues in turn.
 */
export class QueueSelector {
  private readonly last = new Map<string, number>();

  /** The queue of `messageGroup` among `queues`: the same in every process and on every restart. */
  static forMessageGroup(messageGroup: string, queues: number): number {
    return fnv1a(messageGroup) % queues;
  }

  /** The queue after the one `topic` got last (the first call gives queue 0). */
  nextQueue(topic: string, queues: number): number {
    const next = ((this.last.get(topic) ?? -1) + 1) % Math.max(1, queues);
    this.last.set(topic, next);
    return next;
  }

  select(topic: string, messageGroup: string | null, queues: number): number {
    return messageGroup !== null ? QueueSelector.forMessageGroup(messageGroup, queues) : this.nextQueue(topic, queues);
  }
}

/** FNV-1a, 32 bit: a stable hash (not Node's, which is seeded per process). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
