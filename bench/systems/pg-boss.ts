import type { PgBoss as PgBossClass } from 'pg-boss' with { 'resolution-mode': 'import' };
import { BenchMessage, QueueSystem } from './system';

/** pg-boss 12, with the settings that gave its best figures here (shared/BENCH-NOTES.md). */
export class PgBossSystem implements QueueSystem {
  readonly name = 'pg-boss';
  readonly settings =
    'pool max 40, useListenNotify + queue notify; send / insert; work batchSize 500, localConcurrency 2, burstWhenBatchFull, pollingIntervalSeconds 0.5';
  private queue = '';
  private closed = false;

  private constructor(private readonly boss: PgBossClass) {}

  static async open(url: string): Promise<PgBossSystem> {
    const { PgBoss } = await import('pg-boss');
    const boss = new PgBoss({ connectionString: url, max: 40, useListenNotify: true, schedule: false });
    const system = new PgBossSystem(boss);
    // its LISTEN connection can outlive stop(); errors after close are the server going away
    boss.on('error', (error: unknown) => {
      if (!system.closed) console.error('pg-boss error', error);
    });
    await boss.start();
    return system;
  }

  async prepare(run: string): Promise<void> {
    this.queue = `bench-${run}`;
    await this.boss.createQueue(this.queue, { notify: true });
  }

  async sendOne(message: BenchMessage): Promise<void> {
    await this.boss.send(this.queue, message);
  }

  async sendBatch(messages: BenchMessage[]): Promise<void> {
    await this.boss.insert(
      this.queue,
      messages.map((data) => ({ data })),
    );
  }

  async startWorker(onMessage: (message: BenchMessage) => void): Promise<void> {
    await this.boss.work<BenchMessage>(
      this.queue,
      { batchSize: 500, localConcurrency: 2, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
      async (jobs) => {
        for (const job of jobs) onMessage(job.data);
      },
    );
  }

  async stopWorker(): Promise<void> {
    await this.boss.offWork(this.queue);
  }

  async cleanUp(): Promise<void> {
    await this.boss.deleteQueue(this.queue);
  }

  async close(): Promise<void> {
    this.closed = true;
    // stop() returns before the pool is closed; 'stopped' says it is
    const stopped = new Promise<void>((resolve) => this.boss.once('stopped', () => resolve()));
    await this.boss.stop({ graceful: true, close: true });
    await stopped;
  }
}
