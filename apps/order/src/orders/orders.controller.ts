import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import type { OrderChangesPage, OrderStatus } from '../../../shared/src/contracts';
import { ChangesQueryDto, CreateOrderDto } from './order.dto';
import { OrdersService } from './orders.service';

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  async create(@Body() dto: CreateOrderDto): Promise<{ id: string; status: OrderStatus }> {
    const created = await this.orders.create(dto);
    return { id: created.orderId, status: 'PENDING' };
  }

  /** Reconciliation for receivers that may have missed a message. */
  @Get('changes')
  changes(@Query() query: ChangesQueryDto): Promise<OrderChangesPage> {
    return this.orders.changes(query.since ?? 0, query.limit ?? 500);
  }

  @Get('stats')
  stats(): Promise<Record<OrderStatus, number>> {
    return this.orders.stats();
  }

  @Get(':id')
  get(@Param('id', new ParseUUIDPipe()) id: string): ReturnType<OrdersService['get']> {
    return this.orders.get(id);
  }
}
