import { Injectable } from '@nestjs/common';
import { MessageListener } from '@herald/transaction';
import type { MessageContext } from '@herald/transaction';
import { INVENTORY_EVENTS } from '../../../shared/src/contracts';
import type { StockReserved } from '../../../shared/src/contracts';
import { ShipmentsService } from './shipments.service';

@Injectable()
export class ShipmentsHandlers {
  constructor(private readonly shipments: ShipmentsService) {}

  @MessageListener({ topic: INVENTORY_EVENTS, tag: 'StockReserved', group: 'logistics' })
  async onStockReserved(event: StockReserved, _ctx: MessageContext): Promise<void> {
    await this.shipments.ship(event.orderId, 'message');
  }
}
