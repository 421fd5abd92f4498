import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { HeraldModule } from '@herald/transaction';
import { FaultsModule } from '../../shared/src/faults';
import { HealthController } from '../../shared/src/health.controller';
import { ReconcileController, Reconciler } from '../../shared/src/reconcile.controller';
import { brokerOptions, ServiceConfig } from '../../shared/src/service-config';
import { Stock1764300000001 } from './migrations/1764300000001-stock';
import { StockController } from './stock/stock.controller';
import { OrderDecision, Stock, StockMovement } from './stock/stock.entity';
import { StockHandlers } from './stock/stock.handlers';
import { StockReconciler } from './stock/stock.reconciler';
import { StockEvents, StockService } from './stock/stock.service';

export function inventoryAppModule(config: ServiceConfig): new () => unknown {
  const entities = [Stock, StockMovement, OrderDecision];
  @Module({
    imports: [
      TypeOrmModule.forRoot({ type: 'postgres', url: config.databaseUrl, entities, migrations: [Stock1764300000001], migrationsRun: true, extra: { max: 20 } }),
      TypeOrmModule.forFeature(entities),
      FaultsModule.register(config.faults),
      TerminusModule,
      HeraldModule.forRoot({ broker: brokerOptions(config), producerGroup: 'inventory-service', concurrency: config.listenerConcurrency, maxReconsumeTimes: config.maxReconsumeTimes }),
    ],
    controllers: [StockController, HealthController, ReconcileController],
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
