import { HeraldError } from './herald.error';

/** A subscription's filter expression cannot be parsed; `position` is the offending character index. */
export class InvalidFilterExpressionError extends HeraldError {
  constructor(
    readonly expression: string,
    readonly position: number,
    reason: string,
  ) {
    super('INVALID_FILTER_EXPRESSION', `Invalid filter expression ${JSON.stringify(expression)} at ${position}: ${reason}`, {
      expression,
      position,
      reason,
    });
  }
}
