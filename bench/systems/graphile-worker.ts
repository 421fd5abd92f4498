import type { Runner, WorkerUtils } from 'graphile-worker' with { 'resolution-mode': 'import' };
import { Pool } from 'pg';
import { BenchMessage, QueueSystem } from './system';

/** graphile-worker 0.18, with the settings that gave its best figures here (shared/BENCH-NOTES.md). */
export class GraphileWorkerSystem implements QueueSystem {
  readonly name = 'graphile-worker';
  readonly settings =
    'addJob / addJobs; run concurrency 16, localQueue { size 500, refetchDelay 10 ms }, completeJobBatchDelay 0, failJobBatchDelay 0, pool 25';
  private task = '';
  private runner: Runner | null = null;

  private constructor(
    private readonly pool: Pool,
    private readonly utils: WorkerUtils,
  ) {}

  static async open(url: string): Promise<GraphileWorkerSystem> {
    const { makeWorkerUtils, Logger } = await import('graphile-worker');
    // Our own pool (its size as in BENCH-NOTES), so it is surely closed before the server stops.
    const pool = new Pool({ connectionString: url, max: 25 });
    pool.on('error', () => undefined);
    const utils = await makeWorkerUtils({ pgPool: pool, logger: new Logger(() => () => undefined) });
    await utils.migrate();
    return new GraphileWorkerSystem(pool, utils);
  }

  async prepare(run: string): Promise<void> {
    this.task = `bench_${run.replace(/-/g, '_')}`;
  }

  async sendOne(message: BenchMessage): Promise<void> {
    await this.utils.addJob(this.task, message);
  }

  async sendBatch(messages: BenchMessage[]): Promise<void> {
    await this.utils.addJobs(messages.map((payload) => ({ identifier: this.task, payload })));
  }

  async startWorker(onMessage: (message: BenchMessage) => void): Promise<void> {
    const { run, Logger } = await import('graphile-worker');
    this.runner = await run({
      pgPool: this.pool,
      concurrency: 16,
      noHandleSignals: true,
      pollInterval: 1_000,
      logger: new Logger(() => () => undefined),
      taskList: {
        [this.task]: async (payload) => {
          onMessage(payload as BenchMessage);
        },
      },
      preset: {
        worker: { localQueue: { size: 500, refetchDelay: { durationMs: 10 } }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
      },
    });
  }

  async stopWorker(): Promise<void> {
    await this.runner?.stop();
    this.runner = null;
  }

  async cleanUp(): Promise<void> {
    await this.utils.withPgClient((client) => client.query('DELETE FROM graphile_worker._private_jobs'));
  }

  async close(): Promise<void> {
    await this.utils.release();
    await this.pool.end();
  }
}
