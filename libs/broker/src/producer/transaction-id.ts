import { InvalidOptionsError } from '../errors/invalid-options.error';
import { textProblem } from '../util/text';

/** Transaction ids are ours (UUIDs), but callers pass them back: refuse what the store could not hold. */
export function assertTransactionId(transactionId: unknown): asserts transactionId is string {
  if (typeof transactionId !== 'string' || transactionId.length === 0 || transactionId.length > 128) {
    throw new InvalidOptionsError('transactionId', 'must be the transactionId returned by sendHalf');
  }
  const problem = textProblem(transactionId);
  if (problem !== null) throw new InvalidOptionsError('transactionId', problem);
}
