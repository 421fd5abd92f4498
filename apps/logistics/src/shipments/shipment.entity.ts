import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** No unique key on orderId on purpose: the consistency report counts duplicate shipments. */
@Entity('shipments')
export class Shipment {
  @PrimaryColumn('uuid') id!: string;
  @Index() @Column('uuid') orderId!: string;
  @Column('text') carrier!: string;
  /** How it was created: 'message' (StockReserved) or 'reconciliation'. */
  @Column('text') source!: string;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
}
