import { Module } from '@nestjs/common';
import { HeraldConsoleModule } from '@herald/transaction';
import { AdminTokenGuard } from '../../shared/src/admin-token.guard';
import { HealthController } from '../../shared/src/health.controller';
import type { ServiceConfig } from '../../shared/src/service-config';
import { serviceImports } from '../../shared/src/service-imports';
import { Orders1764300000000 } from './migrations/1764300000000-orders';
import { OrderEventsHandlers } from './orders/order-events.handlers';
import { Order, OrderHistory } from './orders/order.entity';
import { OrdersController } from './orders/orders.controller';
import { OrdersService } from './orders/orders.service';

export function orderAppModule(config: ServiceConfig): new () => unknown {
  @Module({
    imports: [
      ...serviceImports(config, { producerGroup: 'order-service', entities: [Order, OrderHistory], migrations: [Orders1764300000000] }),
      // Herald's console at /ops/herald, behind the same token as the admin endpoints (and only with one)
      ...(config.adminToken !== null
        ? [HeraldConsoleModule.forRoot({ path: 'ops/herald', guards: [AdminTokenGuard], authorize: () => ({ name: 'admin-token', role: 'admin' }) })]
        : []),
    ],
    controllers: [OrdersController, HealthController],
    providers: [OrdersService, OrderEventsHandlers],
  })
  class OrderAppModule {}
  return OrderAppModule;
}
