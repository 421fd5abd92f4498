import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { MoreThan, Repository } from 'typeorm';
import { TransactionalMessage } from '@herald/transaction';
import { ORDER_EVENTS, OrderChangesPage, OrderCreated, OrderStatus } from '../../../shared/src/contracts';
import { CreateOrderDto } from './order.dto';
import { Order, OrderHistory } from './order.entity';

const nextChange = (): string => "nextval('order_change_seq')";

@Injectable()
export class OrdersService {
  constructor(
    @InjectRepository(Order) private readonly orders: Repository<Order>,
    @InjectRepository(OrderHistory) private readonly history: Repository<OrderHistory>,
  ) {}

  /** The order row and OrderCreated commit together (keys and message group: the order id). */
  @TransactionalMessage({ topic: ORDER_EVENTS, tag: 'OrderCreated', keys: (e: OrderCreated) => [e.orderId], messageGroup: (e: OrderCreated) => e.orderId })
  async create(dto: CreateOrderDto): Promise<OrderCreated> {
    const orderId = randomUUID();
    const items = dto.items.map(({ sku, qty }) => ({ sku, qty }));
    await this.orders.insert({ id: orderId, customerId: dto.customerId, status: 'PENDING', items, changeSeq: nextChange });
    await this.history.insert({ orderId, event: 'CREATED', detail: items.map((i) => `${i.qty}×${i.sku}`).join(', ') });
    return { orderId, customerId: dto.customerId, items };
  }

  async get(id: string): Promise<Order & { history: OrderHistory[] }> {
    const order = await this.orders.findOneBy({ id });
    if (!order) throw new NotFoundException(`order ${id} does not exist`);
    const history = await this.history.find({ where: { orderId: id }, order: { id: 'ASC' } });
    return { ...order, history };
  }

  /** Reconciliation: orders changed after `since` (a changeSeq), oldest change first. */
  async changes(since: number, limit: number): Promise<OrderChangesPage> {
    const rows = await this.orders.find({ where: { changeSeq: MoreThan(since) }, order: { changeSeq: 'ASC' }, take: limit });
    return {
      changes: rows.map(({ id, status, customerId, items, changeSeq }) => ({ id, status, customerId, items, changeSeq })),
      next: rows.length > 0 ? rows[rows.length - 1].changeSeq : since,
    };
  }

  async stats(): Promise<Record<OrderStatus, number>> {
    const rows = await this.orders
      .createQueryBuilder('o')
      .select('o.status', 'status')
      .addSelect('count(*)::int', 'count')
      .groupBy('o.status')
      .getRawMany<{ status: OrderStatus; count: number }>();
    const stats: Record<OrderStatus, number> = { PENDING: 0, CONFIRMED: 0, CANCELLED: 0, SHIPPED: 0 };
    for (const row of rows) stats[row.status] = row.count;
    return stats;
  }

  /**
   * Moves an order forward (PENDING → CONFIRMED → SHIPPED, or → CANCELLED) under a row lock;
   * a late event never moves it back. Records the event in the history either way.
   */
  async transition(orderId: string, event: string, to: OrderStatus, msgId: string, detail: string | null = null): Promise<void> {
    const order = await this.orders.findOne({ where: { id: orderId }, lock: { mode: 'pessimistic_write' } });
    // an event for an order that never committed would be a phantom: fail loudly (retries, then the DLQ)
    if (!order) throw new Error(`event ${event} for unknown order ${orderId}`);
    const rank: Record<OrderStatus, number> = { PENDING: 0, CONFIRMED: 1, SHIPPED: 2, CANCELLED: 3 };
    const allowed = to === 'CANCELLED' ? order.status === 'PENDING' : order.status !== 'CANCELLED' && rank[to] > rank[order.status];
    if (allowed) await this.orders.update({ id: orderId }, { status: to, changeSeq: nextChange });
    await this.history.insert({ orderId, event, detail: allowed ? detail : `${detail ?? ''} (order stays ${order.status})`.trim(), msgId });
  }
}
