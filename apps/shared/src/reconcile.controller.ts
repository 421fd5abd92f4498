import { Controller, HttpCode, Injectable, Logger, Post, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from './admin-token.guard';
import type { OrderChange, OrderStatus } from './contracts';
import { orderChanges } from './order-changes.client';

/**
 * What a service does to catch up with orders it may have missed messages for: every order
 * the order service reports in `status` gets `repair`, which says whether it had to act.
 */
@Injectable()
export abstract class Reconciler {
  protected abstract readonly status: OrderStatus;
  protected abstract readonly logger: Logger;

  constructor(private readonly orderUrl: string | null) {}

  protected abstract repair(change: OrderChange): Promise<boolean>;

  async reconcile(): Promise<{ checked: number; repaired: number }> {
    if (!this.orderUrl) throw new ServiceUnavailableException('ORDER_URL is not set');
    let checked = 0;
    let repaired = 0;
    for await (const change of orderChanges(this.orderUrl)) {
      if (change.status !== this.status) continue;
      checked += 1;
      if (await this.repair(change)) repaired += 1;
    }
    this.logger.log(`reconciled: ${checked} ${this.status} order(s) checked, ${repaired} repaired here`);
    return { checked, repaired };
  }
}

/** POST /admin/reconcile: run one reconciliation pass now (with ADMIN_TOKEN; mounted only when one is set). */
@Controller('admin/reconcile')
@UseGuards(AdminTokenGuard)
export class ReconcileController {
  constructor(private readonly reconciler: Reconciler) {}

  @Post()
  @HttpCode(200)
  run(): Promise<{ checked: number; repaired: number }> {
    return this.reconciler.reconcile();
  }
}
