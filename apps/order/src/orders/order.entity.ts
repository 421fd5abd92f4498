import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { OrderItem, OrderStatus } from '../../../shared/src/contracts';

@Entity('orders')
export class Order {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') customerId!: string;
  @Column('text') status!: OrderStatus;
  @Column('jsonb') items!: OrderItem[];
  /** From the order_change_seq sequence on every change: the reconciliation cursor. */
  @Index() @Column('bigint', { transformer: { to: (v: number) => v, from: (v: string) => Number(v) } }) changeSeq!: number;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
}

/** What happened to an order, in order: GET /orders/:id shows it. */
@Entity('order_history')
export class OrderHistory {
  @PrimaryGeneratedColumn() id!: number;
  @Index() @Column('uuid') orderId!: string;
  @Column('text') event!: string;
  @Column('text', { nullable: true }) detail!: string | null;
  @Column('text', { nullable: true }) msgId!: string | null;
  @CreateDateColumn({ type: 'timestamptz' }) at!: Date;
}
