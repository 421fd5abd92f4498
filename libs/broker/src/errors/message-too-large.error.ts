import { HeraldError } from './herald.error';

/** A message body is larger than the broker's `maxMessageSize`. */
export class MessageTooLargeError extends HeraldError {
  constructor(
    readonly topic: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super('MESSAGE_TOO_LARGE', `Message body for topic "${topic}" is ${size} bytes; the limit is ${limit}`, {
      topic,
      size,
      limit,
    });
  }
}
