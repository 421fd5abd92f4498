import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { DataSource } from 'typeorm';
import { HERALD_DATA_SOURCE, HERALD_OPTIONS } from './herald.constants';
import { HeraldConfigurableModule, HERALD_MODULE_OPTIONS, HERALD_OPTIONS_TYPE } from './herald.module-definition';
import { HeraldExplorer } from './discovery/herald.explorer';
import { HeraldHealthIndicator } from './health/herald.health';
import { HeraldMetadataAccessor } from './discovery/herald-metadata.accessor';
import { HeraldModuleOptions, ResolvedHeraldOptions, resolveHeraldOptions } from './herald-module-options';
import { TransactionLogChecker } from './check-back/transaction-log.checker';
import { HeraldRuntime } from './lifecycle/herald-runtime';
import { MessageListenerRegistrar } from './lifecycle/message-listener.registrar';
import { NestBrokerLogger } from './nest-broker-logger';
import { InboxHandlerFactory } from './receiving/inbox-handler.factory';
import { LocalRetention } from './retention/local-retention';
import { ServiceStore } from './store/service-store';
import { OuterTransactionSubscriber } from './sending/outer-transaction.subscriber';
import { RepositoryBinder } from './sending/repository-binder';
import { TransactionalMessageSender } from './sending/transactional-message.sender';

/**
 * Transactional messages and exactly-once listeners for a Nest service with a TypeORM
 * DataSource. `HeraldModule.forRoot({ broker: { connectionString }, producerGroup })`
 * or `forRootAsync({ imports, inject, useFactory })`.
 */
@Module({
  imports: [DiscoveryModule, TerminusModule],
  providers: [
    { provide: HERALD_OPTIONS, useFactory: (options: HeraldModuleOptions) => resolveHeraldOptions(options), inject: [HERALD_MODULE_OPTIONS] },
    // Plain classes (no Nest in them), built here from the resolved options.
    { provide: NestBrokerLogger, useFactory: () => new NestBrokerLogger() },
    {
      provide: ServiceStore,
      useFactory: (options: ResolvedHeraldOptions, dataSource: DataSource) => new ServiceStore(dataSource, options.schema, options.clockTolerance),
      inject: [HERALD_OPTIONS, HERALD_DATA_SOURCE],
    },
    {
      provide: TransactionLogChecker,
      useFactory: (options: ResolvedHeraldOptions, store: ServiceStore, logger: NestBrokerLogger) => new TransactionLogChecker(store, options.checkers, logger),
      inject: [HERALD_OPTIONS, ServiceStore, NestBrokerLogger],
    },
    {
      provide: LocalRetention,
      useFactory: (options: ResolvedHeraldOptions, store: ServiceStore, logger: NestBrokerLogger) =>
        new LocalRetention(store, { log: options.retention, inbox: options.inboxRetention }, logger),
      inject: [HERALD_OPTIONS, ServiceStore, NestBrokerLogger],
    },
    {
      provide: HeraldRuntime,
      useFactory: (options: ResolvedHeraldOptions, store: ServiceStore, checker: TransactionLogChecker, retention: LocalRetention, logger: NestBrokerLogger) =>
        new HeraldRuntime(options, store, checker, retention, logger),
      inject: [HERALD_OPTIONS, ServiceStore, TransactionLogChecker, LocalRetention, NestBrokerLogger],
    },
    HeraldMetadataAccessor,
    RepositoryBinder,
    OuterTransactionSubscriber,
    TransactionalMessageSender,
    HeraldExplorer,
    InboxHandlerFactory,
    MessageListenerRegistrar,
    HeraldHealthIndicator,
  ],
  exports: [HeraldRuntime, TransactionLogChecker, HeraldHealthIndicator],
})
export class HeraldModule extends HeraldConfigurableModule {
  /** Validates the options at once (typed InvalidOptionsError); forRootAsync validates when its factory resolves. */
  static override forRoot(options: typeof HERALD_OPTIONS_TYPE): DynamicModule {
    resolveHeraldOptions(options);
    return super.forRoot(options);
  }
}
