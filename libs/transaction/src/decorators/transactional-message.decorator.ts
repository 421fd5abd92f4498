import { SetMetadata } from '@nestjs/common';
import { TRANSACTIONAL_MESSAGE_METADATA } from '../herald.constants';

/** Computes a message field from the method's result and its arguments. */
// The decorated method's argument types are unknown here; handlers declare their own.
export type FromResult<T> = (result: never, ...args: never[]) => T;

export interface TransactionalMessageOptions {
  /** Topic the message goes to. Required. */
  topic: string;
  /** One tag for consumers' tag filters. */
  tag?: string;
  /** Business keys (an order id, ...) for look-ups by key, from the result and arguments. */
  keys?: FromResult<string[]>;
  /** Sharding key: messages of one group stay in order. A string, or computed from the result. */
  messageGroup?: string | FromResult<string>;
  /** User properties (SQL-filterable). Fixed, or computed from the result. */
  properties?: Record<string, string> | FromResult<Record<string, string>>;
  /** Delay level 1-18 of the broker. */
  delayLevel?: number;
  /** The message body; default: the method's return value. Serialised as JSON, Buffers pass through. */
  body?: FromResult<unknown>;
}

/**
 * Runs the method in a local transaction and sends its result as a message exactly
 * when that transaction commits (half message, transaction log, check-back).
 */
export const TransactionalMessage = (options: TransactionalMessageOptions): MethodDecorator => SetMetadata(TRANSACTIONAL_MESSAGE_METADATA, options);
