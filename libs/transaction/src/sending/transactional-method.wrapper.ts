import { Logger } from '@nestjs/common';
import type { DiscoveredTransactionalMethod } from '../discovery/herald.explorer';
import type { TransactionalMessageSender } from './transactional-message.sender';

const logger = new Logger('Herald');

/** Methods already wrapped, per instance: a provider discovered twice is wrapped once. */
const wrapped = new WeakMap<object, Set<string>>();

/** Replaces the method on its instance (so `this` and DI stay intact) with one that runs it through the sender. */
export function wrapTransactionalMethod(found: DiscoveredTransactionalMethod, sender: TransactionalMessageSender): void {
  const { instance, name, method, options, label } = found;
  const done = wrapped.get(instance) ?? new Set<string>();
  if (done.has(name)) return;
  done.add(name);
  wrapped.set(instance, done);
  Object.defineProperty(instance, name, {
    configurable: true,
    writable: true,
    value: function transactionalMessage(this: unknown, ...args: unknown[]): Promise<unknown> {
      return sender.send(options, instance, method, args);
    },
  });
  logger.log(`@TransactionalMessage ${label} → topic=${options.topic}${options.tag ? ` tag=${options.tag}` : ''}`);
}
