import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Stock1764300000001 implements MigrationInterface {
  name = 'Stock1764300000001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE stock (sku text PRIMARY KEY, available int NOT NULL CHECK (available >= 0), reserved int NOT NULL DEFAULT 0)`);
    await db.query(
      `CREATE TABLE stock_movements (id serial PRIMARY KEY, "orderId" uuid NOT NULL, sku text NOT NULL, qty int NOT NULL, at timestamptz NOT NULL DEFAULT now())`,
    );
    await db.query(`CREATE INDEX stock_movements_order ON stock_movements ("orderId")`);
    await db.query(
      `CREATE TABLE order_decisions (id serial PRIMARY KEY, "orderId" uuid NOT NULL, decision text NOT NULL, reason text, at timestamptz NOT NULL DEFAULT now())`,
    );
    await db.query(`CREATE INDEX order_decisions_order ON order_decisions ("orderId")`);
    // the sample's catalogue; PUT /inventory/:sku changes it
    await db.query(`INSERT INTO stock (sku, available) VALUES ('apple', 1000000), ('pear', 1000000), ('plum', 1000000), ('fig', 1000000), ('scarce', 5)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE order_decisions');
    await db.query('DROP TABLE stock_movements');
    await db.query('DROP TABLE stock');
  }
}
