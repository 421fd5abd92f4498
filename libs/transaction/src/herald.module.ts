import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { DataSource } from 'typeorm';
import { TransactionLogChecker } from './check-back/transaction-log.checker';
import { HeraldMetadataAccessor } from './discovery/herald-metadata.accessor';
import { HeraldExplorer } from './discovery/herald.explorer';
import { HeraldHealthIndicator } from './health/herald.health';
import { HERALD_DATA_SOURCE, HERALD_OPTIONS } from './herald.constants';
import { HeraldConfigurableModule, HERALD_MODULE_OPTIONS, HERALD_OPTIONS_TYPE } from './herald.module-definition';
import { HeraldModuleOptions, ResolvedHeraldOptions, resolveHeraldOptions } from './herald-module-options';
import { HeraldRuntime } from './lifecycle/herald-runtime';
import { HeraldLifecycle } from './lifecycle/herald.lifecycle';
import { NestBrokerLogger } from './nest-broker-logger';
import { InboxHandlerFactory } from './receiving/inbox-handler.factory';
import { LocalRetention } from './retention/local-retention';
import { OuterTransactionSubscriber } from './sending/outer-transaction.subscriber';
import { RepositoryBinder } from './sending/repository-binder';
import { TransactionalMessageSender } from './sending/transactional-message.sender';
import { ServiceStore } from './store/service-store';

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
      useFactory: (options: ResolvedHeraldOptions, checker: TransactionLogChecker, retention: LocalRetention, logger: NestBrokerLogger) =>
        new HeraldRuntime(options, checker, retention, logger),
      inject: [HERALD_OPTIONS, TransactionLogChecker, LocalRetention, NestBrokerLogger],
    },
    HeraldMetadataAccessor,
    HeraldExplorer,
    RepositoryBinder,
    OuterTransactionSubscriber,
    TransactionalMessageSender,
    InboxHandlerFactory,
    HeraldHealthIndicator,
    // the only provider with lifecycle hooks: the order is in its doc comment
    HeraldLifecycle,
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
