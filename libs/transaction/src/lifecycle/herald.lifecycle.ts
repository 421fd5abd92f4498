import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PushConsumer } from '@herald/broker';
import { metricsRecorder } from '@herald/broker/internal';
import { DiscoveredListener, HeraldExplorer } from '../discovery/herald.explorer';
import { HERALD_OPTIONS } from '../herald.constants';
import type { ResolvedHeraldOptions } from '../herald-module-options';
import { NestBrokerLogger } from '../nest-broker-logger';
import { InboxHandlerFactory } from '../receiving/inbox-handler.factory';
import { listenerConsumerOptions } from '../receiving/listener-consumer-options';
import { LocalRetention } from '../retention/local-retention';
import { OuterTransactionSubscriber } from '../sending/outer-transaction.subscriber';
import { RepositoryBinder } from '../sending/repository-binder';
import { TransactionalMessageSender } from '../sending/transactional-message.sender';
import { wrapTransactionalMethod } from '../sending/transactional-method.wrapper';
import { ServiceStore } from '../store/service-store';
import { HeraldRuntime } from './herald-runtime';

/**
 * The one owner of Herald's lifecycle in a Nest app (no other Herald provider has a
 * lifecycle hook), in this order:
 *
 * 1. `onModuleInit`: the DataSource's repositories are bound to the active transaction and
 *    its transaction events subscribed to; HeraldExplorer discovers and validates the
 *    decorated methods (a refused one throws here, before anything is opened); the service's
 *    schema is migrated, the broker connected and the decorators' topics created; then the
 *    @TransactionalMessage methods are wrapped.
 * 2. `onApplicationBootstrap`: the transaction producer starts (it answers check-backs), the
 *    retention runs once and then every `retentionCheckInterval`, and each listener's push
 *    consumer starts (none with `startListeners: false`).
 * 3. `beforeApplicationShutdown`: the consumers drain in-flight handlers and commit their
 *    offsets, before TypeORM closes the DataSource in its `onApplicationShutdown`.
 * 4. `onApplicationShutdown`: the retention stops (its running pass is awaited), then the
 *    producer shuts down and the broker connection closes.
 *
 * Start and stop each run once, whatever calls them again.
 */
@Injectable()
export class HeraldLifecycle implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private listeners: DiscoveredListener[] = [];
  private readonly consumers: PushConsumer[] = [];
  private started = false;
  private stopped = false;

  constructor(
    @Inject(HERALD_OPTIONS) private readonly options: ResolvedHeraldOptions,
    private readonly explorer: HeraldExplorer,
    private readonly store: ServiceStore,
    private readonly runtime: HeraldRuntime,
    private readonly repositories: RepositoryBinder,
    private readonly outerTransactions: OuterTransactionSubscriber,
    private readonly sender: TransactionalMessageSender,
    private readonly inboxHandlers: InboxHandlerFactory,
    private readonly retention: LocalRetention,
    private readonly logger: NestBrokerLogger,
  ) {}

  async onModuleInit(): Promise<void> {
    this.repositories.bind();
    this.outerTransactions.subscribe();
    const found = this.explorer.explore();
    await this.store.migrate();
    await this.store.initHorizons(this.options.retention, this.options.inboxRetention);
    await this.runtime.connect(found.topics);
    for (const method of found.transactionalMethods) wrapTransactionalMethod(method, this.sender);
    this.listeners = found.listeners;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { producer, broker } = this.runtime;
    await producer.start();
    this.retention.start(() => this.runtime.broker, this.options.retentionCheckInterval);
    if (!this.options.startListeners) return;
    for (const listener of this.listeners) {
      const consumer = broker.pushConsumer(listenerConsumerOptions(listener, this.inboxHandlers.create(listener, metricsRecorder(broker)), this.options));
      this.consumers.push(consumer);
      await consumer.start();
      this.logger.log('info', 'listener started', { handler: listener.label, topic: listener.options.topic, group: listener.options.group });
    }
  }

  /** Lets in-flight handlers finish and commits their offsets before the app's DataSource closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.shutdown()));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // the timer stops now; the pass under way is awaited alongside the drain (a no-op once
    // beforeApplicationShutdown has run), and both end before the connection closes
    const retentionStopped = this.retention.stop();
    await this.beforeApplicationShutdown();
    await retentionStopped;
    await this.runtime.close();
  }
}
