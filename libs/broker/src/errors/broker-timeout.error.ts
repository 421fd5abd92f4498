import { HeraldError } from './herald.error';

export type TimeoutKind = 'connect' | 'statement' | 'lock' | 'query';

/**
 * A broker store call ran out of time: connecting (`connectTimeout`), a statement
 * (`statementTimeout`), waiting for a row lock (`lockTimeout`), or no answer at all
 * from the server (client-side query timeout). Nothing was committed by it.
 */
export class BrokerTimeoutError extends HeraldError {
  constructor(
    readonly operation: string,
    readonly kind: TimeoutKind,
    cause: unknown,
  ) {
    super('BROKER_TIMEOUT', `Broker store timed out during ${operation} (${kind} timeout)`, { operation, kind }, { cause });
  }
}
