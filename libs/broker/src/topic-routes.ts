import { InvalidOptionsError } from './errors/invalid-options.error';
import { TopicConflictError } from './errors/topic-conflict.error';
import { TopicNotFoundError } from './errors/topic-not-found.error';
import { insertTopic, topicQueueCount } from './store/topics';
import type { Db } from './store/db';

/**
 * Queue counts of topics, cached per broker: a topic's queue count never changes
 * while it exists, so producers pick queues without a round trip.
 */
export class TopicRoutes {
  /** Promises, not numbers: concurrent first sends share one look-up and so keep their issue order. */
  private readonly queues = new Map<string, Promise<number>>();

  constructor(
    private readonly db: Db,
    private readonly autoCreate: boolean,
    private readonly defaultQueues: number,
  ) {}

  queueCount(topic: string): Promise<number> {
    let count = this.queues.get(topic);
    if (count === undefined) {
      count = this.lookUp(topic);
      this.queues.set(topic, count);
      count.catch(() => this.queues.delete(topic));
    }
    return count;
  }

  private async lookUp(topic: string): Promise<number> {
    const count = await topicQueueCount(this.db, topic);
    if (count !== null) return count;
    if (this.autoCreate) return this.create(topic, this.defaultQueues);
    throw new TopicNotFoundError(topic);
  }

  /** Creates a topic (idempotent for the same count); returns its queue count. */
  async create(topic: string, queues: number): Promise<number> {
    if (!Number.isInteger(queues) || queues < 1 || queues > 1024) {
      throw new InvalidOptionsError('queues', `must be an integer from 1 to 1024, got ${JSON.stringify(queues)}`);
    }
    const result = await insertTopic(this.db, topic, queues);
    if (result.queues !== queues) throw new TopicConflictError(topic, result.queues, queues);
    return queues;
  }

  forget(topic: string): void {
    this.queues.delete(topic);
  }
}
