import { Controller, Get, Query } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { Shipment } from './shipment.entity';
import { ShipmentsService } from './shipments.service';

export class ShipmentsQueryDto {
  @IsUUID() orderId!: string;
}

@Controller('shipments')
export class ShipmentsController {
  constructor(private readonly shipments: ShipmentsService) {}

  @Get()
  list(@Query() query: ShipmentsQueryDto): Promise<Shipment[]> {
    return this.shipments.list(query.orderId);
  }
}
