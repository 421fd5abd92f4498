import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Column, Entity, PrimaryColumn, Repository } from 'typeorm';
import { BrokerOptions, ConsoleLogger } from '@herald/broker';
import { HeraldModule, TransactionalMessage } from '@herald/transaction';
import type { BenchMessage } from './system';

export const DECORATED_TOPIC = 'bench-decorated';

@Entity('bench_decorated_orders')
class BenchOrder {
  @PrimaryColumn('uuid') id!: string;
  @Column('int') seq!: number;
}

/** What a Nest service writes: one row in its own database, the message body is the result. */
@Injectable()
class BenchOrders {
  constructor(@InjectRepository(BenchOrder) private readonly orders: Repository<BenchOrder>) {}

  @TransactionalMessage({ topic: DECORATED_TOPIC, keys: (m: BenchMessage) => [String(m.seq)] })
  async place(message: BenchMessage): Promise<BenchMessage> {
    await this.orders.insert({ id: randomUUID(), seq: message.seq });
    return message;
  }
}

/** The @TransactionalMessage path in a Nest application context (no HTTP): TypeORM on the local database, Herald on the broker's. */
export async function openDecoratedPath(
  brokerUrl: string,
  localUrl: string,
  extra: Partial<BrokerOptions> = {},
): Promise<{ send: (m: BenchMessage) => Promise<void>; close: () => Promise<void> }> {
  @Module({
    imports: [
      // 32 connections, as the broker-level transactional scenario's local pool
      TypeOrmModule.forRoot({ type: 'postgres', url: localUrl, entities: [BenchOrder], synchronize: true, extra: { max: 32 } }),
      TypeOrmModule.forFeature([BenchOrder]),
      HeraldModule.forRoot({
        broker: { connectionString: brokerUrl, poolSize: 20, logger: new ConsoleLogger('error'), ...extra },
        producerGroup: 'bench-decorated',
        startListeners: false,
      }),
    ],
    providers: [BenchOrders],
  })
  class BenchAppModule {}
  const app = await NestFactory.createApplicationContext(BenchAppModule, { logger: ['error', 'warn'] });
  const orders = app.get(BenchOrders);
  return {
    send: async (m) => {
      await orders.place(m);
    },
    close: () => app.close(),
  };
}
