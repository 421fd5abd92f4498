import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { HeraldModule } from '@herald/transaction';
import { Faults, FaultsModule } from '../../shared/src/faults';
import { HealthController } from '../../shared/src/health.controller';
import { brokerOptions, ServiceConfig } from '../../shared/src/service-config';
import { Orders1764300000000 } from './migrations/1764300000000-orders';
import { OrderEventsHandlers } from './orders/order-events.handlers';
import { Order, OrderHistory } from './orders/order.entity';
import { OrdersController } from './orders/orders.controller';
import { OrdersService } from './orders/orders.service';

export function orderAppModule(config: ServiceConfig): new () => unknown {
  @Module({
    imports: [
      TypeOrmModule.forRoot({ type: 'postgres', url: config.databaseUrl, entities: [Order, OrderHistory], migrations: [Orders1764300000000], migrationsRun: true, extra: { max: 20 } }),
      TypeOrmModule.forFeature([Order, OrderHistory]),
      FaultsModule.register(config.faults),
      TerminusModule,
      HeraldModule.forRootAsync({
        inject: [Faults],
        useFactory: (faults: Faults) => ({
          broker: brokerOptions(config),
          producerGroup: 'order-service',
          concurrency: config.listenerConcurrency,
          maxReconsumeTimes: config.maxReconsumeTimes,
          onLocalCommit: () => faults.afterLocalCommit(),
        }),
      }),
    ],
    controllers: [OrdersController, HealthController],
    providers: [OrdersService, OrderEventsHandlers],
  })
  class OrderAppModule {}
  return OrderAppModule;
}
