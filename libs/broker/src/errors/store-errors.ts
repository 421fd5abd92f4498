import { DatabaseError } from 'pg';
import { BrokerStoreError } from './broker-store.error';
import { BrokerTimeoutError } from './broker-timeout.error';
import { HeraldError } from './herald.error';

/** node-postgres' own timeout messages (client side: no server error arrives). */
const CLIENT_TIMEOUTS: [RegExp, 'connect' | 'query'][] = [
  [/timeout exceeded when trying to connect|connection timeout/i, 'connect'],
  [/query read timeout/i, 'query'],
];

/** The connection is in an unknown state after this: it must be replaced, not reused. */
export function breaksConnection(error: unknown): boolean {
  if (!(error instanceof DatabaseError)) return true;
  // 26000: a prepared statement the client thinks exists is gone on the server;
  // 57P0x: the server ended the session (terminated, shutting down); 08: connection exceptions
  return error.code === '26000' || error.code?.startsWith('57P') === true || error.code?.startsWith('08') === true;
}

/** True for a timeout the server reported (the connection stays usable). */
export function isLockTimeout(error: unknown): boolean {
  return error instanceof DatabaseError && error.code === '55P03';
}

/**
 * The one place a failure of the broker store becomes a typed error: every public
 * method maps what it catches through here, so callers only ever see HeraldErrors.
 */
export function toHeraldError(operation: string, error: unknown): HeraldError {
  if (error instanceof HeraldError) return error;
  if (error instanceof DatabaseError) {
    if (error.code === '55P03') return new BrokerTimeoutError(operation, 'lock', error);
    // 57014: canceled, here by statement_timeout (Herald never cancels otherwise)
    if (error.code === '57014') return new BrokerTimeoutError(operation, 'statement', error);
  }
  if (error instanceof Error) {
    for (const [pattern, kind] of CLIENT_TIMEOUTS) if (pattern.test(error.message)) return new BrokerTimeoutError(operation, kind, error);
  }
  return new BrokerStoreError(operation, error);
}

/** Runs a public operation; whatever it throws reaches the caller as a HeraldError. */
export async function guard<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toHeraldError(operation, error);
  }
}
