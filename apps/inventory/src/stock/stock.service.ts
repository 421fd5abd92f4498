import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { TransactionalMessage } from '@herald/transaction';
import { INVENTORY_EVENTS, OrderCreated } from '../../../shared/src/contracts';
import type { StockRejected, StockReserved } from '../../../shared/src/contracts';
import { Faults } from '../../../shared/src/faults';
import { OrderDecision, Stock, StockMovement } from './stock.entity';

/** The events inventory sends; called inside the listener's transaction, so they commit with its writes. */
@Injectable()
export class StockEvents {
  @TransactionalMessage({
    topic: INVENTORY_EVENTS,
    tag: 'StockReserved',
    keys: (e: StockReserved) => [e.orderId],
    messageGroup: (e: StockReserved) => e.orderId,
  })
  async reserved(event: StockReserved): Promise<StockReserved> {
    return event;
  }

  @TransactionalMessage({
    topic: INVENTORY_EVENTS,
    tag: 'StockRejected',
    keys: (e: StockRejected) => [e.orderId],
    messageGroup: (e: StockRejected) => e.orderId,
  })
  async rejected(event: StockRejected): Promise<StockRejected> {
    return event;
  }
}

@Injectable()
export class StockService {
  constructor(
    @InjectRepository(Stock) private readonly stock: Repository<Stock>,
    @InjectRepository(StockMovement) private readonly movements: Repository<StockMovement>,
    @InjectRepository(OrderDecision) private readonly decisions: Repository<OrderDecision>,
    private readonly events: StockEvents,
    private readonly faults: Faults,
  ) {}

  /**
   * Reserves every line of the order or none (rows locked in SKU order: no deadlocks between
   * orders). Once per order, whether the message or reconciliation gets there first.
   */
  async reserve(order: OrderCreated): Promise<'RESERVED' | 'REJECTED' | 'ALREADY_DECIDED'> {
    const skus = [...new Set(order.items.map((item) => item.sku))].sort();
    this.faults.failIfInjected(skus);
    await this.stock.query('SELECT pg_advisory_xact_lock(hashtext($1))', [order.orderId]);
    if (await this.decided(order.orderId)) return 'ALREADY_DECIDED';
    const rows = await this.stock.find({ where: { sku: In(skus) }, order: { sku: 'ASC' }, lock: { mode: 'pessimistic_write' } });
    const bySku = new Map(rows.map((row) => [row.sku, row]));
    const wanted = new Map<string, number>();
    for (const item of order.items) wanted.set(item.sku, (wanted.get(item.sku) ?? 0) + item.qty);
    const short = [...wanted].filter(([sku, qty]) => (bySku.get(sku)?.available ?? 0) < qty).map(([sku]) => sku);
    if (short.length > 0) {
      const reason = `not enough stock: ${short.join(', ')}`;
      await this.decisions.insert({ orderId: order.orderId, decision: 'REJECTED', reason });
      await this.events.rejected({ orderId: order.orderId, reason });
      return 'REJECTED';
    }
    for (const [sku, qty] of wanted) {
      await this.stock
        .createQueryBuilder()
        .update(Stock)
        .set({ available: () => 'available - :qty', reserved: () => 'reserved + :qty' })
        .where('sku = :sku', { sku, qty })
        .execute();
      await this.movements.insert({ orderId: order.orderId, sku, qty });
    }
    await this.decisions.insert({ orderId: order.orderId, decision: 'RESERVED', reason: null });
    await this.events.reserved({ orderId: order.orderId, items: order.items });
    return 'RESERVED';
  }

  async decided(orderId: string): Promise<boolean> {
    return (await this.decisions.countBy({ orderId })) > 0;
  }

  async get(sku: string): Promise<Stock> {
    const row = await this.stock.findOneBy({ sku });
    if (!row) throw new NotFoundException(`sku ${sku} does not exist`);
    return row;
  }

  async set(sku: string, available: number): Promise<Stock> {
    await this.stock.upsert({ sku, available }, ['sku']);
    return this.get(sku);
  }
}
