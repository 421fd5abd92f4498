import { HeraldError } from './herald.error';

/** The broker's PostgreSQL store failed an operation; `cause` holds the driver's error. */
export class BrokerStoreError extends HeraldError {
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('BROKER_STORE_ERROR', `Broker store failed during ${operation}: ${detail}`, { operation }, { cause });
  }
}
