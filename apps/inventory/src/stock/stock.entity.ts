import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

@Entity('stock')
export class Stock {
  @PrimaryColumn('text') sku!: string;
  @Column('int') available!: number;
  @Column('int', { default: 0 }) reserved!: number;
}

/** One row per reserved line. No unique key on purpose: the consistency report counts duplicates. */
@Entity('stock_movements')
export class StockMovement {
  @PrimaryGeneratedColumn() id!: number;
  @Index() @Column('uuid') orderId!: string;
  @Column('text') sku!: string;
  @Column('int') qty!: number;
  @CreateDateColumn({ type: 'timestamptz' }) at!: Date;
}

/** The decision taken for each order (RESERVED or REJECTED); also without a unique key. */
@Entity('order_decisions')
export class OrderDecision {
  @PrimaryGeneratedColumn() id!: number;
  @Index() @Column('uuid') orderId!: string;
  @Column('text') decision!: 'RESERVED' | 'REJECTED';
  @Column('text', { nullable: true }) reason!: string | null;
  @CreateDateColumn({ type: 'timestamptz' }) at!: Date;
}
