import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { PushConsumer } from '@herald/broker';
import { HeraldExplorer } from '../discovery/herald.explorer';
import { HERALD_OPTIONS } from '../herald.constants';
import type { ResolvedHeraldOptions } from '../herald-module-options';
import { NestBrokerLogger } from '../nest-broker-logger';
import { InboxHandlerFactory } from '../receiving/inbox-handler.factory';
import { listenerConsumerOptions } from '../receiving/listener-consumer-options';
import { LocalRetention } from '../retention/local-retention';
import { HeraldRuntime } from './herald-runtime';

/**
 * Starts the app's side of Herald once it is bootstrapped (check-back duty, retention,
 * one push consumer per listener), and stops it in order: consumers drain and commit
 * their offsets before anything else shuts down, then the producer and the broker.
 */
@Injectable()
export class MessageListenerRegistrar implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly consumers: PushConsumer[] = [];
  private started = false;
  private stopped = false;

  constructor(
    @Inject(HERALD_OPTIONS) private readonly options: ResolvedHeraldOptions,
    private readonly runtime: HeraldRuntime,
    private readonly retention: LocalRetention,
    private readonly logger: NestBrokerLogger,
    private readonly explorer: HeraldExplorer,
    private readonly inboxHandlers: InboxHandlerFactory,
  ) {}

  /** Consumer groups of this app's listeners. */
  get groups(): string[] {
    return this.explorer.listeners.map((listener) => listener.options.group);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { producer, broker } = this.runtime;
    const { options, logger } = this;
    await producer.start();
    this.retention.start(() => this.runtime.broker, options.retentionCheckInterval);
    if (!options.startListeners) return;
    for (const listener of this.explorer.listeners) {
      const consumer = broker.pushConsumer(listenerConsumerOptions(listener, this.inboxHandlers.create(listener), options));
      this.consumers.push(consumer);
      await consumer.start();
      logger.log('info', 'listener started', { handler: listener.label, topic: listener.options.topic, group: listener.options.group });
    }
  }

  /** Lets in-flight handlers finish and commits their offsets before the app's DataSource closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.shutdown()));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const retentionStopped = this.retention.stop();
    await this.beforeApplicationShutdown();
    await retentionStopped;
    await this.runtime.close();
  }
}
