import { InvalidOptionsError } from '../errors/invalid-options.error';

/** A point in time given as a Date or epoch milliseconds, as every Herald API accepts it. */
export function toEpochMs(value: unknown, field: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new InvalidOptionsError(field, 'must be a Date or epoch milliseconds');
  return ms;
}
