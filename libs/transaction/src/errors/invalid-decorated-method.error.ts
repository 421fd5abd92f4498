import { HeraldError } from '@herald/broker';

/** A @MessageListener or @TransactionalMessage method cannot be registered as declared. */
export class InvalidDecoratedMethodError extends HeraldError {
  constructor(
    readonly handler: string,
    reason: string,
  ) {
    super('INVALID_HANDLER', `Cannot register ${handler}: ${reason}`, { handler, reason });
  }
}
