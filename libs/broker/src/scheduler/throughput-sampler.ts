import type { BrokerContext } from '../broker-context';
import { errorText } from '../logger';
import { sampleThroughput } from '../store/throughput';

/** Samples are kept this long: rates look back at most this far. */
export const THROUGHPUT_KEEP_MS = 3_600_000;

/**
 * Records where topics and groups stand every `throughputSampleInterval`, for
 * `admin.rates()`. Every broker that runs retention runs one; a sample taken by any of them
 * within most of the interval makes the others skip theirs.
 */
export class ThroughputSampler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(private readonly ctx: BrokerContext) {}

  start(): void {
    const interval = this.ctx.options.throughputSampleInterval;
    this.timer = setInterval(() => {
      this.running ??= this.runOnce()
        .catch((error: unknown) => this.ctx.options.logger.log('warn', 'throughput sample failed; will retry', { error: errorText(error) }))
        .finally(() => {
          this.running = null;
        });
    }, interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Takes a sample unless one is recent; true when it did. */
  runOnce(): Promise<boolean> {
    return sampleThroughput(this.ctx.schedulerPool, Math.floor(this.ctx.options.throughputSampleInterval * 0.8), THROUGHPUT_KEEP_MS);
  }
}
