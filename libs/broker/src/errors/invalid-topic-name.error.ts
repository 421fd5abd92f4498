import { HeraldError } from './herald.error';

/** A topic name breaks `^[A-Za-z0-9_%|-]{1,127}$` or uses a prefix reserved for the broker. */
export class InvalidTopicNameError extends HeraldError {
  constructor(
    readonly topic: string,
    reason: string,
  ) {
    super('INVALID_TOPIC_NAME', `Invalid topic name ${JSON.stringify(topic)}: ${reason}`, { topic, reason });
  }
}
