import type { MessageHandler, PushConsumerOptions } from '@herald/broker';
import type { DiscoveredListener } from '../discovery/herald.explorer';
import type { ResolvedHeraldOptions } from '../herald-module-options';

/**
 * The push consumer of one listener: its topic and filter, the module's `concurrency` and
 * `maxReconsumeTimes` where it sets none, and FIRST_OFFSET for a new group, so a service
 * deployed late still gets what was sent before.
 */
export function listenerConsumerOptions(
  listener: DiscoveredListener,
  handler: MessageHandler,
  defaults: Pick<ResolvedHeraldOptions, 'concurrency' | 'maxReconsumeTimes'>,
): PushConsumerOptions {
  const o = listener.options;
  return {
    group: o.group,
    subscriptions: { [o.topic]: o.sql !== undefined ? { sql: o.sql } : (o.tag ?? '*') },
    handler,
    orderly: o.orderly,
    concurrency: o.concurrency ?? defaults.concurrency,
    maxReconsumeTimes: o.maxReconsumeTimes ?? defaults.maxReconsumeTimes,
    model: o.model,
    consumeFromWhere: o.consumeFromWhere ?? 'FIRST_OFFSET',
  };
}
