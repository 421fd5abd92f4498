// The @herald/transaction quick start from libs/transaction/README.md; libs/transaction/test/examples.spec.ts runs it.
// Two services in one process for brevity: orders (SERVICE_DB) sends, inventory (INVENTORY_DB) receives.
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { Column, Entity, PrimaryGeneratedColumn, PrimaryColumn, Repository } from 'typeorm';
import { HeraldModule, MessageListener, TransactionalMessage } from '@herald/transaction';
import type { MessageContext } from '@herald/transaction';

const { BROKER_URL, ORDER_DB, INVENTORY_DB } = process.env as Record<string, string>;

@Entity()
class Order {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column() sku!: string;
  @Column('int') qty!: number;
}

@Injectable()
class OrderService {
  constructor(@InjectRepository(Order) private readonly orders: Repository<Order>) {}

  // The insert and the message commit together; the return value is the message body.
  @TransactionalMessage({ topic: 'order-events', tag: 'OrderCreated', keys: (order: Order) => [order.id] })
  async createOrder(sku: string, qty: number): Promise<Order> {
    return this.orders.save(this.orders.create({ sku, qty }));
  }
}

@Entity()
class Reservation {
  @PrimaryColumn() orderId!: string;
  @Column() sku!: string;
}

@Injectable()
class InventoryHandlers {
  constructor(@InjectRepository(Reservation) private readonly reservations: Repository<Reservation>) {}

  // Runs once per message, in a local transaction with the inbox row; a throw retries later.
  @MessageListener({ topic: 'order-events', tag: 'OrderCreated', group: 'inventory' })
  async reserve(order: Order, ctx: MessageContext): Promise<void> {
    await this.reservations.insert({ orderId: order.id, sku: order.sku });
    console.log(`reserved ${order.qty} × ${order.sku} for ${order.id} (msgId ${ctx.msgId}, attempt ${ctx.reconsumeTimes + 1})`);
    done();
  }
}

@Module({
  imports: [
    TypeOrmModule.forRoot({ type: 'postgres', url: ORDER_DB, entities: [Order], synchronize: true }),
    TypeOrmModule.forFeature([Order]),
    HeraldModule.forRoot({ broker: { connectionString: BROKER_URL }, producerGroup: 'order-service' }),
  ],
  providers: [OrderService],
})
class OrderModule {}

@Module({
  imports: [
    TypeOrmModule.forRoot({ type: 'postgres', url: INVENTORY_DB, entities: [Reservation], synchronize: true }),
    TypeOrmModule.forFeature([Reservation]),
    HeraldModule.forRoot({ broker: { connectionString: BROKER_URL }, producerGroup: 'inventory-service' }),
  ],
  providers: [InventoryHandlers],
})
class InventoryModule {}

let done: () => void = () => undefined;
const received = new Promise<void>((resolve) => {
  done = resolve;
});

async function main(): Promise<void> {
  const inventory = await NestFactory.createApplicationContext(InventoryModule, { logger: ['error', 'warn'] });
  const orders = await NestFactory.createApplicationContext(OrderModule, { logger: ['error', 'warn'] });
  const order = await orders.get(OrderService).createOrder('lamp', 2);
  console.log(`order ${order.id} committed`);
  await received;
  await orders.close();
  await inventory.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
