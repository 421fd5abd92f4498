import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { HeraldModule } from '@herald/transaction';
import { FaultsModule } from '../../shared/src/faults';
import { HealthController } from '../../shared/src/health.controller';
import { ReconcileController, Reconciler } from '../../shared/src/reconcile.controller';
import { brokerOptions, ServiceConfig } from '../../shared/src/service-config';
import { Shipments1764300000002 } from './migrations/1764300000002-shipments';
import { Shipment } from './shipments/shipment.entity';
import { ShipmentsController } from './shipments/shipments.controller';
import { ShipmentsHandlers } from './shipments/shipments.handlers';
import { ShipmentsReconciler } from './shipments/shipments.reconciler';
import { ShipmentsService } from './shipments/shipments.service';

export function logisticsAppModule(config: ServiceConfig): new () => unknown {
  @Module({
    imports: [
      TypeOrmModule.forRoot({ type: 'postgres', url: config.databaseUrl, entities: [Shipment], migrations: [Shipments1764300000002], migrationsRun: true, extra: { max: 20 } }),
      TypeOrmModule.forFeature([Shipment]),
      FaultsModule.register(config.faults),
      TerminusModule,
      HeraldModule.forRoot({ broker: brokerOptions(config), producerGroup: 'logistics-service', concurrency: config.listenerConcurrency, maxReconsumeTimes: config.maxReconsumeTimes }),
    ],
    controllers: [ShipmentsController, HealthController, ReconcileController],
    providers: [
      ShipmentsService,
      ShipmentsHandlers,
      { provide: Reconciler, useFactory: (shipments: ShipmentsService) => new ShipmentsReconciler(shipments, config.orderUrl), inject: [ShipmentsService] },
    ],
  })
  class LogisticsAppModule {}
  return LogisticsAppModule;
}
