import { SetMetadata } from '@nestjs/common';
import type { ConsumeFromWhere } from '@herald/broker';
import { MESSAGE_LISTENER_METADATA } from '../herald.constants';

export interface MessageListenerOptions {
  /** Topic to consume. Required. */
  topic: string;
  /** Consumer group: one per receiving service and purpose. Required; one listener per group in an app. */
  group: string;
  /** Tag expression (`*`, `TagA || TagB`). Default `*`. Exclusive with `sql`. */
  tag?: string;
  /** SQL92 filter over message properties, e.g. `region = 'eu' AND amount > 10`. Exclusive with `tag`. */
  sql?: string;
  /** Per queue (message group), one message at a time in order; a failure retries in place. Default false. */
  orderly?: boolean;
  /** Handlers running at once in this instance. Default: the module's `concurrency` (16). */
  concurrency?: number;
  /** Retries before the message goes to `%DLQ%<group>`. Default: the module's `maxReconsumeTimes` (16). */
  maxReconsumeTimes?: number;
  /** `CLUSTERING` (default): each message to one instance. `BROADCASTING`: to every instance. */
  model?: 'CLUSTERING' | 'BROADCASTING';
  /** Where a new group starts. Default `FIRST_OFFSET`, so a service deployed late still gets what was sent before. */
  consumeFromWhere?: ConsumeFromWhere;
}

/**
 * Calls the method `(payload, ctx: MessageContext)` for each message, inside a local
 * transaction that also records `(group, msgId)` in the inbox: duplicates are skipped,
 * a throw rolls back and retries on the broker's schedule.
 */
export const MessageListener = (options: MessageListenerOptions): MethodDecorator => SetMetadata(MESSAGE_LISTENER_METADATA, options);
