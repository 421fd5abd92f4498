import { DynamicModule, Injectable, Provider } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test, TestingModuleBuilder } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { InvalidOptionsError } from '@herald/broker';
import { HeraldModule, HeraldModuleOptions, InvalidDecoratedMethodError, TransactionalMessage } from '@herald/transaction';
import { OrderRow, OrderService } from './fixtures/order-inventory';
import { useServiceDatabases } from './nest-harness';

const env = useServiceDatabases('order');

@Injectable()
class BadTopic {
  @TransactionalMessage({ topic: 'no spaces allowed' })
  async send(): Promise<string> {
    return 'x';
  }
}

function orderModule(herald: DynamicModule, providers: Provider[] = [OrderService]): TestingModuleBuilder {
  return Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({ type: 'postgres', url: env.urls.order, entities: [OrderRow], synchronize: true }),
      TypeOrmModule.forFeature([OrderRow]),
      herald,
    ],
    providers,
  });
}

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return null;
}

const forRoot = (options: Partial<HeraldModuleOptions>): DynamicModule =>
  HeraldModule.forRoot({ broker: { connectionString: env.urls.broker }, producerGroup: 'order-service', ...options });

describe('HeraldModule options', () => {
  it('forRootAsync takes its options from @nestjs/config', async () => {
    const moduleRef = await orderModule(
      HeraldModule.forRootAsync({
        imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ BROKER_URL: env.urls.broker, PRODUCER_GROUP: 'config-service' })] })],
        inject: [ConfigService],
        useFactory: (config: ConfigService): HeraldModuleOptions => ({
          broker: { connectionString: config.getOrThrow<string>('BROKER_URL') },
          producerGroup: config.getOrThrow<string>('PRODUCER_GROUP'),
        }),
      }),
    ).compile();
    await moduleRef.init();
    try {
      const id = randomUUID();
      await moduleRef.get(OrderService).create(id, 'configured');
      const [sent] = await (await env.admin()).admin.queryMessagesByKey('orders', id);
      expect(await env.query('order', 'SELECT state FROM herald_local.transaction_log WHERE msg_id = $1', [sent.msgId])).toEqual([{ state: 'COMMITTED' }]);
    } finally {
      await moduleRef.close();
    }
  });

  it.each([
    [{ producerGroup: 'bad group!' }, 'producerGroup'],
    [{ schema: 'Not-A-Schema' }, 'schema'],
    [{ transactionTimeout: -1 }, 'transactionTimeout'],
    [{ retention: 60_000 }, 'retention'],
    [{ checkers: { orders: 'COMMIT' } }, 'checkers.orders'],
  ])('refuses %j at forRoot with a typed error naming %s', (bad, field) => {
    const error = catchError(() => forRoot(bad as Partial<HeraldModuleOptions>));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', field });
  });

  it.each([
    ['transactionTimeout', 2 * 86_400_000, 7 * 86_400_000 + 1],
    ['checkInterval', 2 * 86_400_000, 7 * 86_400_000 + 1],
    ['maxChecks', 5_000, 10_001],
    ['maxReconsumeTimes', 1_000, 1_001],
    ['concurrency', 1_000, 1_001],
  ])("takes %s = %d as the broker does, and refuses %d with the broker's own message", async (field, value, tooBig) => {
    // a check-back window of days: retention (here a year) must outlast it and the retries
    const room = { retention: 365 * 86_400_000, ...(field === 'maxChecks' ? { checkInterval: 1_000 } : {}) };
    expect(() => forRoot({ ...room, [field]: value })).not.toThrow();
    const moduleError = catchError(() => forRoot({ ...room, [field]: tooBig }));
    // where the value ends up: the broker's transaction producer or push consumer
    const broker = await env.admin();
    const brokerError = catchError(() =>
      field === 'concurrency' || field === 'maxReconsumeTimes'
        ? broker.pushConsumer({ group: 'limits', subscriptions: { orders: '*' }, handler: () => undefined, [field]: tooBig })
        : broker.transactionProducer({ group: 'limits', checker: () => 'COMMIT', [field]: tooBig }),
    );
    expect(brokerError).toBeInstanceOf(InvalidOptionsError);
    expect(moduleError).toBeInstanceOf(InvalidOptionsError);
    expect(moduleError).toMatchObject({ field, message: (brokerError as Error).message });
  });

  it('refuses a @TransactionalMessage with a bad topic name at startup', async () => {
    const moduleRef = await orderModule(forRoot({}), [BadTopic]).compile();
    const error = await moduleRef.init().then(
      () => null,
      (e: unknown) => e,
    );
    await moduleRef.close();
    expect(error).toBeInstanceOf(InvalidDecoratedMethodError);
    expect(String(error)).toMatch(/BadTopic\.send/);
  });
});
