import { IsString, Matches } from 'class-validator';

export class SkuParam {
  @IsString() @Matches(/^[A-Za-z0-9-]{1,32}$/, { message: 'sku must be 1-32 letters, digits or dashes' }) sku!: string;
}
