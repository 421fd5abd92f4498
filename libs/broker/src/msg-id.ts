import { randomBytes } from 'node:crypto';

/**
 * 32 upper-case hex characters: 12 of milliseconds since the epoch, then 20 random.
 * Time first keeps the msg_id index appending at its right edge.
 */
export function newMsgId(now: number = Date.now()): string {
  return now.toString(16).padStart(12, '0').toUpperCase() + randomBytes(10).toString('hex').toUpperCase();
}
