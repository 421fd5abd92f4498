import { Injectable, Logger } from '@nestjs/common';
import { MessageListener } from '@herald/transaction';
import type { MessageContext } from '@herald/transaction';
import { ORDER_EVENTS } from '../../../shared/src/contracts';
import type { OrderCreated } from '../../../shared/src/contracts';
import { StockService } from './stock.service';

@Injectable()
export class StockHandlers {
  private readonly logger = new Logger('Inventory');

  constructor(private readonly stock: StockService) {}

  @MessageListener({ topic: ORDER_EVENTS, tag: 'OrderCreated', group: 'inventory' })
  async onOrderCreated(order: OrderCreated, ctx: MessageContext): Promise<void> {
    if (ctx.reconsumeTimes > 0) this.logger.log(`retry orderId=${order.orderId} msgId=${ctx.msgId} reconsumeTimes=${ctx.reconsumeTimes}`);
    await this.stock.reserve(order);
  }
}
