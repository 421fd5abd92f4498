import { HeraldError } from './herald.error';

/** A message field (tag, keys, properties, body, messageGroup) is invalid. */
export class InvalidMessageError extends HeraldError {
  constructor(
    readonly field: string,
    reason: string,
    readonly topic?: string,
  ) {
    super('INVALID_MESSAGE', `Invalid message field "${field}": ${reason}`, { field, reason, topic });
  }
}
