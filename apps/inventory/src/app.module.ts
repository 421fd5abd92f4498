import { Module } from '@nestjs/common';
import { HealthController } from '../../shared/src/health.controller';
import { ReconcileController, Reconciler } from '../../shared/src/reconcile.controller';
import type { ServiceConfig } from '../../shared/src/service-config';
import { adminControllers, serviceImports } from '../../shared/src/service-imports';
import { Stock1764300000001 } from './migrations/1764300000001-stock';
import { StockController } from './stock/stock.controller';
import { OrderDecision, Stock, StockMovement } from './stock/stock.entity';
import { StockHandlers } from './stock/stock.handlers';
import { StockReconciler } from './stock/stock.reconciler';
import { StockEvents, StockService } from './stock/stock.service';

export function inventoryAppModule(config: ServiceConfig): new () => unknown {
  @Module({
    imports: serviceImports(config, { producerGroup: 'inventory-service', entities: [Stock, StockMovement, OrderDecision], migrations: [Stock1764300000001] }),
    controllers: [StockController, HealthController, ...adminControllers(config, [ReconcileController])],
    providers: [
      StockService,
      StockEvents,
      StockHandlers,
      { provide: Reconciler, useFactory: (stock: StockService) => new StockReconciler(stock, config.orderUrl), inject: [StockService] },
    ],
  })
  class InventoryAppModule {}
  return InventoryAppModule;
}
