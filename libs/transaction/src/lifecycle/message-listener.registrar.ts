import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import { ClsService } from 'nestjs-cls';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { MessageHandler, PushConsumer } from '@herald/broker';
import { errorText } from '@herald/broker/internal';
import { HERALD_OPTIONS, HERALD_TRANSACTION_HOST } from '../herald.constants';
import type { ResolvedHeraldOptions } from '../herald-module-options';
import { DiscoveredListener, HeraldExplorer } from '../discovery/herald.explorer';
import { NestBrokerLogger } from '../nest-broker-logger';
import { LocalRetention } from '../retention/local-retention';
import { ServiceStore } from '../store/service-store';
import { HeraldRuntime } from './herald-runtime';
import { decodeBody } from '../receiving/message-codec';
import { toMessageContext } from '../receiving/message-context';

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
    private readonly store: ServiceStore,
    private readonly retention: LocalRetention,
    private readonly logger: NestBrokerLogger,
    private readonly explorer: HeraldExplorer,
    private readonly cls: ClsService,
    @Inject(HERALD_TRANSACTION_HOST) private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
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
      const o = listener.options;
      const consumer = broker.pushConsumer({
        group: o.group,
        subscriptions: { [o.topic]: o.sql !== undefined ? { sql: o.sql } : (o.tag ?? '*') },
        handler: this.handlerFor(listener),
        orderly: o.orderly,
        concurrency: o.concurrency ?? options.concurrency,
        maxReconsumeTimes: o.maxReconsumeTimes ?? options.maxReconsumeTimes,
        model: o.model,
        consumeFromWhere: o.consumeFromWhere ?? 'FIRST_OFFSET',
      });
      this.consumers.push(consumer);
      await consumer.start();
      logger.log('info', 'listener started', { handler: listener.label, topic: o.topic, group: o.group });
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

  private handlerFor(listener: DiscoveredListener): MessageHandler {
    const { store, logger } = this;
    const { group, model } = listener.options;
    // broadcast: every instance applies the message, so each keeps its own inbox entries
    const inboxGroup = model === 'BROADCASTING' ? `${group}@${hostname()}` : group;
    return async (view) => {
      const fields = { group, topic: view.topic, msgId: view.msgId, reconsumeTimes: view.reconsumeTimes };
      try {
        await this.cls.run({ ifNested: 'override' }, () =>
          this.txHost.withTransaction(async () => {
            const claim = await store.claimInbox(this.txHost.tx, inboxGroup, view.msgId, view.topic, view.storedAt);
            if (claim === 'DUPLICATE') {
              logger.log('info', 'duplicate delivery skipped', fields);
              return;
            }
            if (claim === 'REFUSED') {
              // committed with its REFUSED inbox row and acknowledged: a retry would be a fresh copy, applied unchecked
              logger.log(
                'error',
                'delivery past the inbox horizon refused, not applied: it may have been applied before its inbox row was deleted; release it to apply it',
                {
                  ...fields,
                  storedAt: view.storedAt.toISOString(),
                },
              );
              return;
            }
            await listener.method.call(listener.instance, decodeBody(view), toMessageContext(view));
          }),
        );
      } catch (error) {
        logger.log('warn', 'listener failed; rolled back, the broker will retry', { ...fields, handler: listener.label, error: errorText(error) });
        throw error;
      }
    };
  }
}
