import { Controller, Get, Logger } from '@nestjs/common';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorResult, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { HeraldHealthIndicator } from '@herald/transaction';

/** What /health says about a failed dependency: a category, never the driver's text. */
export type PublicReason = 'unreachable' | 'timeout' | 'error';

// Reasons HeraldHealthIndicator builds from its own counters (no driver text in them): passed through.
const COUNTER_REASONS = [/^lag above \d+ in [\w%|, -]+$/, /^\d+ parked half message\(s\) need an operator$/];
// Fields of a down result that are numbers from the broker, not text from a driver.
const COUNTER_FIELDS = ['lag', 'pendingHalves', 'parkedHalves', 'responseTime'];

function publicReason(raw: string): PublicReason {
  if (/timeout|timed out|no answer within/i.test(raw)) return 'timeout';
  if (
    /ECONN[A-Z]+|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE|connection terminated|connection error|terminating connection|database system is/i.test(
      raw,
    )
  )
    return 'unreachable';
  return 'error';
}

/**
 * GET /health: the service's database and its side of Herald (broker reachable, lag, parked halves).
 * /health is unauthenticated (load balancers, compose), and a raw driver message such as
 * `connect ECONNREFUSED 10.0.0.5:5432` or `password authentication failed for user "order"`
 * names hosts, ports and roles: a failed indicator answers a category instead, and the raw
 * text goes to the service's own log.
 */
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly herald: HeraldHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.sanitized(this.db.pingCheck('database')), () => this.sanitized(this.herald.isHealthy('herald'))]);
  }

  private async sanitized(check: PromiseLike<HealthIndicatorResult>): Promise<HealthIndicatorResult> {
    const result: HealthIndicatorResult = {};
    for (const [key, detail] of Object.entries(await check)) {
      if (detail.status !== 'down') {
        result[key] = detail;
        continue;
      }
      const fields = detail as Record<string, unknown>;
      const raw = [fields.reason, fields.message].find((text): text is string => typeof text === 'string') ?? '';
      const kept = Object.fromEntries(Object.entries(fields).filter(([field]) => COUNTER_FIELDS.includes(field)));
      const safe = COUNTER_REASONS.some((pattern) => pattern.test(raw));
      if (!safe) this.logger.warn(`health check=${key} down error=${JSON.stringify(raw)}`);
      result[key] = { ...kept, status: 'down', reason: safe ? raw : publicReason(raw) };
    }
    return result;
  }
}
