import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { IsInt, Max, Min } from 'class-validator';
import { SkuParam } from '../../../shared/src/params';
import { Stock } from './stock.entity';
import { StockService } from './stock.service';

export class SetStockDto {
  @IsInt() @Min(0) @Max(1_000_000_000) available!: number;
}

@Controller('inventory')
export class StockController {
  constructor(private readonly stock: StockService) {}

  @Get(':sku')
  get(@Param() { sku }: SkuParam): Promise<Stock> {
    return this.stock.get(sku);
  }

  @Put(':sku')
  set(@Param() { sku }: SkuParam, @Body() dto: SetStockDto): Promise<Stock> {
    return this.stock.set(sku, dto.available);
  }
}
