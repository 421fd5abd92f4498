import { Controller, HttpCode, Injectable, Post } from '@nestjs/common';

/** What a service does to catch up with orders it may have missed messages for. */
@Injectable()
export abstract class Reconciler {
  abstract reconcile(): Promise<{ checked: number; repaired: number }>;
}

/** POST /admin/reconcile: run one reconciliation pass now. */
@Controller('admin/reconcile')
export class ReconcileController {
  constructor(private readonly reconciler: Reconciler) {}

  @Post()
  @HttpCode(200)
  run(): Promise<{ checked: number; repaired: number }> {
    return this.reconciler.reconcile();
  }
}
