import { Module } from '@nestjs/common';
import { HealthController } from '../../shared/src/health.controller';
import { ReconcileController, Reconciler } from '../../shared/src/reconcile.controller';
import type { ServiceConfig } from '../../shared/src/service-config';
import { adminControllers, serviceImports } from '../../shared/src/service-imports';
import { Shipments1764300000002 } from './migrations/1764300000002-shipments';
import { Shipment } from './shipments/shipment.entity';
import { ShipmentsController } from './shipments/shipments.controller';
import { ShipmentsHandlers } from './shipments/shipments.handlers';
import { ShipmentsReconciler } from './shipments/shipments.reconciler';
import { ShipmentsService } from './shipments/shipments.service';

export function logisticsAppModule(config: ServiceConfig): new () => unknown {
  @Module({
    imports: serviceImports(config, { producerGroup: 'logistics-service', entities: [Shipment], migrations: [Shipments1764300000002] }),
    controllers: [ShipmentsController, HealthController, ...adminControllers(config, [ReconcileController])],
    providers: [
      ShipmentsService,
      ShipmentsHandlers,
      { provide: Reconciler, useFactory: (shipments: ShipmentsService) => new ShipmentsReconciler(shipments, config.orderUrl), inject: [ShipmentsService] },
    ],
  })
  class LogisticsAppModule {}
  return LogisticsAppModule;
}
