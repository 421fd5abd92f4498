import { Injectable, Logger } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import type { OrderChange } from '../../../shared/src/contracts';
import { Reconciler } from '../../../shared/src/reconcile.controller';
import { StockService } from './stock.service';

/** Orders still PENDING at the order service that inventory never decided: decide them now. */
@Injectable()
export class StockReconciler extends Reconciler {
  protected readonly status = 'PENDING';
  protected readonly logger = new Logger('Inventory');

  constructor(
    private readonly stock: StockService,
    orderUrl: string | null,
  ) {
    super(orderUrl);
  }

  @Transactional()
  protected async repair(change: OrderChange): Promise<boolean> {
    const result = await this.stock.reserve({ orderId: change.id, customerId: change.customerId, items: change.items });
    return result !== 'ALREADY_DECIDED';
  }
}
