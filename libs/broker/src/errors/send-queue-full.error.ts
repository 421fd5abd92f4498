import { HeraldError } from './herald.error';

/**
 * Too many sends are waiting for the store (it is slow or unreachable). Nothing of
 * this send was queued; retry later. `limit` names the bound that was hit.
 */
export class SendQueueFullError extends HeraldError {
  constructor(
    readonly limit: 'maxPendingSends' | 'maxPendingBytes',
    readonly pending: number,
    readonly max: number,
  ) {
    super('SEND_QUEUE_FULL', `Too many sends waiting for the broker store: ${pending} pending, ${limit} is ${max}`, { limit, pending, max });
  }
}
