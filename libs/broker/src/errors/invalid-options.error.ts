import { HeraldError } from './herald.error';

/** An option passed to the broker, a producer or a consumer is invalid. */
export class InvalidOptionsError extends HeraldError {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super('INVALID_OPTIONS', `Invalid option "${field}": ${reason}`, { field, reason });
  }
}
