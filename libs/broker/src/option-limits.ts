/**
 * Defaults and bounds of the options that more than one resolver reads: the broker's own
 * (transaction producer, push and simple consumers) and @herald/transaction's module options,
 * which pass them on to those. One place, so the copies cannot drift.
 */
import { InvalidOptionsError } from './errors/invalid-options.error';

/** An integer option: its default when undefined, else checked against [min, max]. */
export function intOption(value: unknown, field: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionsError(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function boolOption(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionsError(field, `must be a boolean, got ${JSON.stringify(value)}`);
  return value;
}

export interface IntLimit {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

const DAY = 86_400_000;

export const OPTION_LIMITS = {
  /** A half becomes due for its first check-back this long after it was stored. */
  transactionTimeout: { default: 6_000, min: 1, max: 7 * DAY },
  /** Between check-backs that answered UNKNOWN. */
  checkInterval: { default: 60_000, min: 1, max: 7 * DAY },
  /** UNKNOWN answers before a half is parked. */
  maxChecks: { default: 15, min: 1, max: 10_000 },
  /** Handlers at once per push consumer. */
  concurrency: { default: 16, min: 1, max: 1_000 },
  /** Retries before the dead-letter queue. */
  maxReconsumeTimes: { default: 16, min: 0, max: 1_000 },
} as const satisfies Record<string, IntLimit>;

/** `value` checked against `limit` (its default when undefined); InvalidOptionsError names `field`. */
export function limitedOption(value: unknown, field: string, limit: IntLimit, fallback: number = limit.default): number {
  return intOption(value, field, fallback, limit.min, limit.max);
}

/**
 * Schema names. The broker's also appear in its NOTIFY channel names (`herald_<schema>_<kind>`,
 * 63 bytes at most) and advisory-lock keys, hence shorter than a service schema, a plain identifier.
 */
export const BROKER_SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,39}$/;
export const SERVICE_SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
