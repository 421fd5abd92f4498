import { ConfigurableModuleBuilder, DynamicModule } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { ClsModule } from 'nestjs-cls';
import { ClsPluginTransactional, getTransactionHostToken } from '@nestjs-cls/transactional';
import { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { HERALD_DATA_SOURCE, HERALD_TRANSACTION_HOST } from './herald.constants';
import type { HeraldModuleOptions } from './herald-module-options';

/** Static settings given next to the options (also with forRootAsync): they shape the module's imports. */
export interface HeraldModuleExtras {
  /** Name of the service's TypeORM DataSource (as given to TypeOrmModule.forRoot). Default: the default DataSource. */
  dataSource?: string;
  /**
   * Set up nestjs-cls and @nestjs-cls/transactional for that DataSource. Set false when the app
   * already does (its `ClsPluginTransactional` with the TypeORM adapter); then
   * `transactionConnectionName` names that plugin. Default true.
   */
  registerTransactional?: boolean;
  /** `connectionName` of the @nestjs-cls/transactional plugin Herald uses. Default: none (the default TransactionHost). */
  transactionConnectionName?: string;
  /** Make HeraldModule's exports (HeraldHealthIndicator, HeraldRuntime, TransactionLogChecker) global. Default false. */
  isGlobal?: boolean;
}

function withExtras(definition: DynamicModule, extras: HeraldModuleExtras): DynamicModule {
  const dataSourceToken = getDataSourceToken(extras.dataSource);
  const imports = [...(definition.imports ?? [])];
  if (extras.registerTransactional !== false) {
    imports.push(
      ClsModule.forRoot({
        global: true,
        // HTTP requests get a CLS context, so users' own @Transactional() methods work too
        middleware: { mount: true },
        plugins: [
          new ClsPluginTransactional({
            connectionName: extras.transactionConnectionName,
            adapter: new TransactionalAdapterTypeOrm({ dataSourceToken }),
          }),
        ],
      }),
    );
  }
  return {
    ...definition,
    global: extras.isGlobal === true,
    imports,
    providers: [
      ...(definition.providers ?? []),
      { provide: HERALD_DATA_SOURCE, useExisting: dataSourceToken },
      { provide: HERALD_TRANSACTION_HOST, useExisting: getTransactionHostToken(extras.transactionConnectionName) },
    ],
  };
}

export const {
  ConfigurableModuleClass: HeraldConfigurableModule,
  MODULE_OPTIONS_TOKEN: HERALD_MODULE_OPTIONS,
  OPTIONS_TYPE: HERALD_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: HERALD_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<HeraldModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<HeraldModuleExtras>({ registerTransactional: true, isGlobal: false }, withExtras)
  .build();
