import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Orders1764300000000 implements MigrationInterface {
  name = 'Orders1764300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE SEQUENCE order_change_seq`);
    await db.query(`CREATE TABLE orders (
      id uuid PRIMARY KEY,
      "customerId" text NOT NULL,
      status text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'SHIPPED')),
      items jsonb NOT NULL,
      "changeSeq" bigint NOT NULL,
      "createdAt" timestamptz NOT NULL DEFAULT now(),
      "updatedAt" timestamptz NOT NULL DEFAULT now())`);
    await db.query(`CREATE INDEX orders_change_seq ON orders ("changeSeq")`);
    await db.query(`CREATE TABLE order_history (
      id serial PRIMARY KEY,
      "orderId" uuid NOT NULL,
      event text NOT NULL,
      detail text,
      "msgId" text,
      at timestamptz NOT NULL DEFAULT now())`);
    await db.query(`CREATE INDEX order_history_order ON order_history ("orderId")`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE order_history');
    await db.query('DROP TABLE orders');
    await db.query('DROP SEQUENCE order_change_seq');
  }
}
