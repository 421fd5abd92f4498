import type { DynamicModule, Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { MigrationInterface } from 'typeorm';
import { HeraldModule } from '@herald/transaction';
import { AdminTokenModule } from './admin-token.guard';
import { Faults, FaultsModule } from './faults';
import { brokerOptions, ServiceConfig } from './service-config';

/**
 * What every sample service imports: its own database (entities, migrations run at start),
 * faults, the admin token (when set), terminus, `GET /metrics` (@willsoto/nestjs-prometheus on prom-client's
 * global registry, where Herald's broker metrics register too), and Herald with the service's producer group. The crash-after-local-commit
 * fault is wired in every service, so `crashAfterLocalCommit` means the same everywhere.
 */
export function serviceImports(
  config: ServiceConfig,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM types entity classes as Function
  service: { producerGroup: string; entities: Function[]; migrations: Type<MigrationInterface>[] },
): (DynamicModule | Type<unknown>)[] {
  return [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: config.databaseUrl,
      entities: service.entities,
      migrations: service.migrations,
      migrationsRun: true,
      extra: { max: 20 },
    }),
    TypeOrmModule.forFeature(service.entities),
    FaultsModule.register(config),
    ...(config.adminToken !== null ? [AdminTokenModule.register(config.adminToken)] : []),
    TerminusModule,
    PrometheusModule.register({ path: '/metrics' }),
    HeraldModule.forRootAsync({
      inject: [Faults],
      useFactory: (faults: Faults) => ({
        broker: brokerOptions(config),
        producerGroup: service.producerGroup,
        concurrency: config.listenerConcurrency,
        maxReconsumeTimes: config.maxReconsumeTimes,
        onLocalCommit: () => faults.afterLocalCommit(),
      }),
    }),
  ];
}

/** Admin controllers are mounted only with an ADMIN_TOKEN: without one they do not exist (404). */
export function adminControllers(config: ServiceConfig, controllers: Type<unknown>[]): Type<unknown>[] {
  return config.adminToken !== null ? controllers : [];
}
