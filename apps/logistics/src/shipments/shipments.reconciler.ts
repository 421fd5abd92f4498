import { Injectable, Logger } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import type { OrderChange } from '../../../shared/src/contracts';
import { Reconciler } from '../../../shared/src/reconcile.controller';
import { ShipmentsService } from './shipments.service';

/** Orders CONFIRMED at the order service without a shipment here: ship them now. */
@Injectable()
export class ShipmentsReconciler extends Reconciler {
  protected readonly status = 'CONFIRMED';
  protected readonly logger = new Logger('Logistics');

  constructor(
    private readonly shipments: ShipmentsService,
    orderUrl: string | null,
  ) {
    super(orderUrl);
  }

  @Transactional()
  protected repair(change: OrderChange): Promise<boolean> {
    return this.shipments.ship(change.id, 'reconciliation');
  }
}
