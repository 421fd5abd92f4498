import type { ModuleMetadata, Provider } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Client } from 'pg';
import { waitFor } from '@herald/test-support/wait-for';
import { Broker, BrokerOptions } from '@herald/broker';
import { HeraldModule, HeraldModuleOptions } from '@herald/transaction';
import { createTestDatabase } from '@herald/test-support/test-database';

/** Retries come back after 50 ms instead of 10 s, 30 s, ...: the schedule's shape without the wait. */
export const FAST_BROKER: Partial<BrokerOptions> = { delayLevels: Array.from({ length: 18 }, () => 50), pollInterval: 200, heartbeatInterval: 500 };
/**
 * The module timings every startService() uses unless its spec overrides them (spec.herald):
 * a half is checked back after 1 s instead of 6 s. Named here, so a test that depends on a
 * timing can see it and state its own.
 */
export const FAST_HERALD = { transactionTimeout: 1_000 } as const;

export interface ServiceSpec {
  /** Producer group, and the service's name. */
  name: string;
  dbUrl: string;
  brokerUrl: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM types entity classes as Function
  entities: Function[];
  providers: Provider[];
  /** Herald options on top of the harness's; `broker` is merged into the broker options, not swapped for them. */
  herald?: Omit<Partial<HeraldModuleOptions>, 'broker'> & { broker?: Partial<BrokerOptions> };
  imports?: ModuleMetadata['imports'];
}

/** A Nest service as a testing module: its own database (TypeORM), Herald, and the given providers; initialised. */
export async function startService(spec: ServiceSpec): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({ type: 'postgres', url: spec.dbUrl, entities: spec.entities, synchronize: true }),
      TypeOrmModule.forFeature(spec.entities),
      HeraldModule.forRoot({
        producerGroup: spec.name,
        ...FAST_HERALD,
        ...spec.herald,
        broker: { connectionString: spec.brokerUrl, ...FAST_BROKER, ...spec.herald?.broker },
      }),
      ...(spec.imports ?? []),
    ],
    providers: spec.providers,
  }).compile();
  try {
    await moduleRef.init();
  } catch (error) {
    await moduleRef.close().catch(() => undefined);
    throw error;
  }
  return moduleRef;
}

/**
 * Databases for a test file: one per service plus the broker's, created in beforeAll
 * and dropped in afterAll; apps opened with `track` are closed after each test.
 */
export function useServiceDatabases(...names: string[]): {
  urls: Record<string, string>;
  track: (app: TestingModule) => TestingModule;
  /** Closes a tracked app now (it is not closed again after the test). */
  close: (app: TestingModule) => Promise<void>;
  admin: () => Promise<Broker>;
  /** Waits until `group` has progress on its queues and nothing left to deliver (lag 0 everywhere). */
  drained: (group: string, timeoutMs?: number) => Promise<void>;
  query: <T>(service: string, sql: string, params?: unknown[]) => Promise<T[]>;
} {
  const urls: Record<string, string> = {};
  const drops: (() => Promise<void>)[] = [];
  const apps: TestingModule[] = [];
  let adminBroker: Broker | null = null;
  beforeAll(async () => {
    for (const name of ['broker', ...names]) {
      const db = await createTestDatabase();
      urls[name] = db.url;
      drops.push(db.drop);
    }
  });
  afterEach(async () => {
    for (const app of apps.splice(0).reverse()) await app.close();
  });
  afterAll(async () => {
    await adminBroker?.close();
    for (const drop of drops) await drop();
  });
  const adminConnection = async (): Promise<Broker> => {
    adminBroker ??= await Broker.connect({ connectionString: urls.broker, runScheduler: false, runRetention: false });
    return adminBroker;
  };
  return {
    urls,
    track: (app) => {
      apps.push(app);
      return app;
    },
    close: async (app) => {
      const index = apps.indexOf(app);
      if (index >= 0) apps.splice(index, 1);
      await app.close();
    },
    /** A broker connection for assertions (no scheduler or retention of its own). */
    admin: adminConnection,
    drained: async (group, timeoutMs) => {
      const { admin } = await adminConnection();
      await waitFor(
        async () => {
          const progress = await admin.groupProgress(group);
          return progress.length > 0 && progress.every((q) => q.lag === 0);
        },
        { timeoutMs, what: `${group} drained` },
      );
    },
    query: async <T>(service: string, sql: string, params: unknown[] = []) => {
      const client = new Client({ connectionString: urls[service] });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows as T[];
      } finally {
        await client.end();
      }
    },
  };
}
