import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Broker, ConsoleLogger } from '@herald/broker';
import { databaseUrl, recreateDatabase } from '@herald/testing';
import { ServiceName, ServiceProcess } from './service-process';

export interface ClusterOptions {
  /** Admin connection string of the PostgreSQL server that holds the four databases. */
  adminUrl: string;
  /** Database name prefix (tests run several clusters on one server). Default 'herald_demo'. */
  prefix?: string;
  /** Handlers at once per listener in inventory and logistics. Default 2: consumers have a bounded rate. */
  listenerConcurrency?: number;
  /** Retries before the DLQ. Default 3, so the demo's poison message gets there in seconds. */
  maxReconsumeTimes?: number;
  /** Scale of the broker's decaying delays (10 s, 30 s, 1 m, ...). Default 0.01. */
  delayScale?: number;
  /** Where the services append their finished spans (JSON lines per process, see apps/shared/src/tracing.ts). Default '' (no tracing). */
  traceDir?: string;
}

/** The services' ADMIN_TOKEN: a fresh random one per cluster, so nothing else on the machine can drive their admin endpoints. */
const newAdminToken = (): string => randomBytes(24).toString('hex');

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The sample system: four databases (order, inventory, logistics, broker) and three service processes. */
export class Cluster {
  readonly services: Record<ServiceName, ServiceProcess>;

  private constructor(
    readonly urls: Record<ServiceName | 'broker', string>,
    ports: Record<ServiceName, number>,
    options: Required<Omit<ClusterOptions, 'adminUrl' | 'prefix'>>,
    /** A broker connection for the demo's own observations (lag, DLQ); no background duties. */
    readonly broker: Broker,
    /** Bearer token of the services' /admin endpoints (faults, reconciliation). */
    readonly adminToken: string,
  ) {
    const common = {
      BROKER_URL: urls.broker,
      // the demo injects faults on purpose; a service started any other way has them off
      FAULTS_ENABLED: '1',
      ADMIN_TOKEN: adminToken,
      MAX_RECONSUME_TIMES: String(options.maxReconsumeTimes),
      DELAY_SCALE: String(options.delayScale),
      ORDER_URL: `http://127.0.0.1:${ports.order}`,
      NO_COLOR: '1',
      SAMPLE_TRACE_DIR: options.traceDir,
    };
    const service = (name: ServiceName, concurrency: number): ServiceProcess =>
      new ServiceProcess(name, ports[name], { ...common, DATABASE_URL: urls[name], LISTENER_CONCURRENCY: String(concurrency), OTEL_SERVICE_NAME: name });
    this.services = {
      order: service('order', 16),
      inventory: service('inventory', options.listenerConcurrency),
      logistics: service('logistics', options.listenerConcurrency),
    };
  }

  /** Creates (or recreates) the databases and starts the three services. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const prefix = options.prefix ?? 'herald_demo';
    const urls = {} as Record<ServiceName | 'broker', string>;
    for (const name of ['order', 'inventory', 'logistics', 'broker'] as const) {
      await recreateDatabase(options.adminUrl, `${prefix}_${name}`);
      urls[name] = databaseUrl(options.adminUrl, `${prefix}_${name}`);
    }
    const ports = { order: await freePort(), inventory: await freePort(), logistics: await freePort() };
    const broker = await Broker.connect({ connectionString: urls.broker, runScheduler: false, runRetention: false, logger: new ConsoleLogger('error') });
    const cluster = new Cluster(
      urls,
      ports,
      {
        listenerConcurrency: options.listenerConcurrency ?? 2,
        maxReconsumeTimes: options.maxReconsumeTimes ?? 3,
        delayScale: options.delayScale ?? 0.01,
        traceDir: options.traceDir ?? '',
      },
      broker,
      newAdminToken(),
    );
    try {
      await Promise.all(Object.values(cluster.services).map((s) => s.start()));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  get order(): ServiceProcess {
    return this.services.order;
  }

  get inventory(): ServiceProcess {
    return this.services.inventory;
  }

  get logistics(): ServiceProcess {
    return this.services.logistics;
  }

  /** Messages not yet consumed by each group. */
  async backlog(): Promise<Record<string, number>> {
    const lag: Record<string, number> = {};
    for (const group of ['inventory', 'logistics', 'order-stock', 'order-shipping']) {
      try {
        lag[group] = (await this.broker.admin.groupProgress(group)).reduce((sum, q) => sum + (q.lag === 'unknown' ? 0 : q.lag), 0);
      } catch {
        lag[group] = 0; // the group has not started yet
      }
    }
    return lag;
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.services).map((s) => s.stop()));
    await this.broker.close();
  }
}
