import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Shipments1764300000002 implements MigrationInterface {
  name = 'Shipments1764300000002';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `CREATE TABLE shipments (id uuid PRIMARY KEY, "orderId" uuid NOT NULL, carrier text NOT NULL, source text NOT NULL, "createdAt" timestamptz NOT NULL DEFAULT now())`,
    );
    await db.query(`CREATE INDEX shipments_order ON shipments ("orderId")`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE shipments');
  }
}
