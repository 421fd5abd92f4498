import { Injectable } from '@nestjs/common';
import { MessageListener } from '@herald/transaction';
import type { MessageContext } from '@herald/transaction';
import { INVENTORY_EVENTS, LOGISTICS_EVENTS, StockRejected, StockReserved } from '../../../shared/src/contracts';
import type { ShipmentCreated } from '../../../shared/src/contracts';
import { OrdersService } from './orders.service';

/** The order service's side of the flow: stock decisions and shipments move its orders. */
@Injectable()
export class OrderEventsHandlers {
  constructor(private readonly orders: OrdersService) {}

  @MessageListener({ topic: INVENTORY_EVENTS, tag: 'StockReserved || StockRejected', group: 'order-stock' })
  async onStockDecision(event: StockReserved | StockRejected, ctx: MessageContext): Promise<void> {
    if (ctx.tag === 'StockReserved') await this.orders.transition(event.orderId, 'STOCK_RESERVED', 'CONFIRMED', ctx.msgId);
    else await this.orders.transition(event.orderId, 'STOCK_REJECTED', 'CANCELLED', ctx.msgId, (event as StockRejected).reason);
  }

  @MessageListener({ topic: LOGISTICS_EVENTS, tag: 'ShipmentCreated', group: 'order-shipping' })
  async onShipment(event: ShipmentCreated, ctx: MessageContext): Promise<void> {
    await this.orders.transition(event.orderId, 'SHIPPED', 'SHIPPED', ctx.msgId, `shipment ${event.shipmentId}`);
  }
}
