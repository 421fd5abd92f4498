import { HeraldError } from './herald.error';

/** An operation was called in a state that does not allow it (send after close, start twice, ...). */
export class IllegalStateError extends HeraldError {
  constructor(
    readonly subject: string,
    readonly state: string,
    operation: string,
  ) {
    super('ILLEGAL_STATE', `Cannot ${operation}: ${subject} is ${state}`, { subject, state, operation });
  }
}
