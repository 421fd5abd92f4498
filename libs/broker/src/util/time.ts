import { InvalidOptionsError } from '../errors/invalid-options.error';

/** A point in time given as a Date or epoch milliseconds, as every Herald API accepts it. */
/** Latest instant accepted: year 9999, inside both JavaScript's Date and PostgreSQL's timestamptz. */
export const MAX_EPOCH_MS = 253_402_300_799_999;

export function toEpochMs(value: unknown, field: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new InvalidOptionsError(field, 'must be a Date or epoch milliseconds');
  if (ms < 0 || ms > MAX_EPOCH_MS) throw new InvalidOptionsError(field, `must be between 1970 and 9999 (epoch ms 0 to ${MAX_EPOCH_MS}), got ${ms}`);
  return ms;
}
