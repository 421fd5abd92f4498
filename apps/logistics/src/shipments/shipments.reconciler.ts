import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { orderChanges } from '../../../shared/src/order-changes.client';
import { Reconciler } from '../../../shared/src/reconcile.controller';
import { ShipmentsService } from './shipments.service';

/** Orders CONFIRMED at the order service without a shipment here: ship them now. */
@Injectable()
export class ShipmentsReconciler extends Reconciler {
  private readonly logger = new Logger('Logistics');

  constructor(private readonly shipments: ShipmentsService, private readonly orderUrl: string | null) {
    super();
  }

  async reconcile(): Promise<{ checked: number; repaired: number }> {
    if (!this.orderUrl) throw new ServiceUnavailableException('ORDER_URL is not set');
    let checked = 0;
    let repaired = 0;
    for await (const change of orderChanges(this.orderUrl)) {
      if (change.status !== 'CONFIRMED') continue;
      checked += 1;
      if (await this.ship(change.id)) repaired += 1;
    }
    this.logger.log(`reconciled: ${checked} confirmed order(s) checked, ${repaired} shipped here`);
    return { checked, repaired };
  }

  @Transactional()
  private ship(orderId: string): Promise<boolean> {
    return this.shipments.ship(orderId, 'reconciliation');
  }
}
