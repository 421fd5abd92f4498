import { HeraldError } from './herald.error';

/** The topic does not exist (create it with `admin.createTopic`, or set `autoCreateTopics`). */
export class TopicNotFoundError extends HeraldError {
  constructor(readonly topic: string) {
    super('TOPIC_NOT_FOUND', `Topic "${topic}" does not exist`, { topic });
  }
}
