import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';

export class OrderItemDto {
  @IsString() @Matches(/^[A-Za-z0-9-]{1,32}$/, { message: 'sku must be 1-32 letters, digits or dashes' }) sku!: string;
  @IsInt() @Min(1) @Max(1_000) qty!: number;
}

export class CreateOrderDto {
  @IsString() @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'customerId must be 1-64 letters, digits, _ or -' }) customerId!: string;
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(20) @ValidateNested({ each: true }) @Type(() => OrderItemDto) items!: OrderItemDto[];
}

export class ChangesQueryDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) since?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1_000) limit?: number;
}
