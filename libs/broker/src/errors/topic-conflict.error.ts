import { HeraldError } from './herald.error';

/** `createTopic` was asked for a queue count different from the existing topic's. */
export class TopicConflictError extends HeraldError {
  constructor(
    readonly topic: string,
    readonly existingQueues: number,
    readonly requestedQueues: number,
  ) {
    super('TOPIC_CONFLICT', `Topic "${topic}" already exists with ${existingQueues} queues; ${requestedQueues} were requested`, {
      topic,
      existingQueues,
      requestedQueues,
    });
  }
}
