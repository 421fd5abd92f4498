import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { HeraldError } from '@herald/broker';
import { errorText, TIMED_OUT, within } from '@herald/broker/internal';
import { HeraldExplorer } from '../discovery/herald.explorer';
import { HERALD_OPTIONS } from '../herald.constants';
import type { ResolvedHeraldOptions } from '../herald-module-options';
import { HeraldRuntime } from '../lifecycle/herald-runtime';
import { NestBrokerLogger } from '../nest-broker-logger';

class HealthTimeout extends Error {}

export interface HeraldHealthOptions {
  /** Down when a listener group's lag (messages not yet consumed) exceeds this. Default: lag never makes it down. */
  maxLag?: number;
  /** Down when more halves of this service's producer group are parked for an operator. Default 0. */
  maxParkedHalves?: number;
  /** Down when the broker does not answer within this many ms. Default 3 000. */
  timeout?: number;
}

/**
 * For @nestjs/terminus: broker reachable, per-group lag of this app's listeners,
 * pending and parked half messages of its producer group.
 */
@Injectable()
export class HeraldHealthIndicator {
  /** @internal Nest injects it */
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly runtime: HeraldRuntime,
    @Inject(HERALD_OPTIONS) private readonly options: ResolvedHeraldOptions,
    private readonly logger: NestBrokerLogger,
    private readonly explorer: HeraldExplorer,
  ) {}

  async isHealthy(key = 'herald', options: HeraldHealthOptions = {}): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    const { maxLag = Number.POSITIVE_INFINITY, maxParkedHalves = 0, timeout = 3_000 } = options;
    try {
      const report = await within(this.report(), timeout);
      if (report === TIMED_OUT) throw new HealthTimeout();
      const laggards = Object.entries(report.lag)
        .filter(([, lag]) => lag > maxLag)
        .map(([group]) => group);
      if (laggards.length > 0) return indicator.down({ ...report, reason: `lag above ${maxLag} in ${laggards.join(', ')}` });
      if (report.parkedHalves > maxParkedHalves) return indicator.down({ ...report, reason: `${report.parkedHalves} parked half message(s) need an operator` });
      return indicator.up(report);
    } catch (error) {
      // The driver's text names hosts, ports and roles: it goes to the log, /health gets a code.
      this.logger.log('warn', 'health check: broker unreachable', { error: errorText(error) });
      const timedOut = error instanceof HealthTimeout;
      return indicator.down({
        reason: timedOut ? `no answer within ${timeout} ms` : 'broker unreachable',
        code: error instanceof HeraldError ? error.code : timedOut ? 'TIMEOUT' : 'UNKNOWN',
      });
    }
  }

  private async report(): Promise<{ lag: Record<string, number>; pendingHalves: number; parkedHalves: number }> {
    const { admin } = this.runtime.broker;
    const group = this.options.producerGroup;
    const stats = (await admin.transactionStats()).find((s) => s.producerGroup === group);
    const lag: Record<string, number> = {};
    for (const consumerGroup of this.explorer.listenerGroups) {
      const progress = await admin.groupProgress(consumerGroup);
      // a queue whose lag is unknown (no member started on it yet) holds nothing back
      lag[consumerGroup] = progress.reduce((sum, queue) => sum + (queue.lag === 'unknown' ? 0 : queue.lag), 0);
    }
    return { lag, pendingHalves: stats?.pending ?? 0, parkedHalves: stats?.parked ?? 0 };
  }
}
