import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import type { OrderChange } from '../../../shared/src/contracts';
import { orderChanges } from '../../../shared/src/order-changes.client';
import { Reconciler } from '../../../shared/src/reconcile.controller';
import { StockService } from './stock.service';

/** Orders still PENDING at the order service that inventory never decided: decide them now. */
@Injectable()
export class StockReconciler extends Reconciler {
  private readonly logger = new Logger('Inventory');

  constructor(private readonly stock: StockService, private readonly orderUrl: string | null) {
    super();
  }

  async reconcile(): Promise<{ checked: number; repaired: number }> {
    if (!this.orderUrl) throw new ServiceUnavailableException('ORDER_URL is not set');
    let checked = 0;
    let repaired = 0;
    for await (const change of orderChanges(this.orderUrl)) {
      if (change.status !== 'PENDING') continue;
      checked += 1;
      if (await this.decide(change)) repaired += 1;
    }
    this.logger.log(`reconciled: ${checked} pending order(s) checked, ${repaired} decided here`);
    return { checked, repaired };
  }

  @Transactional()
  private async decide(change: OrderChange): Promise<boolean> {
    const result = await this.stock.reserve({ orderId: change.id, customerId: change.customerId, items: change.items });
    return result !== 'ALREADY_DECIDED';
  }
}
