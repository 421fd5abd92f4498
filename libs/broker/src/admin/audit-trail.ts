import { hostname, userInfo } from 'node:os';
import type { BrokerContext } from '../broker-context';
import { HeraldError } from '../errors/herald.error';
import { errorText } from '../logger';
import { recordAudit } from '../store/audit';

/** Who changes things when no actor is named: the OS user and host of this process. */
export function defaultActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // some containers have no passwd entry for their uid
  }
  return `${user}@${hostname()}`;
}

/**
 * Records every mutation made through the admin API in `audit_log`: who, what, on what,
 * with which details, and how it ended (`ok`, or `failed: <code>: <message>`). A failing
 * audit write is logged, never allowed to undo or hide what the mutation did.
 */
export class AuditTrail {
  constructor(
    private readonly ctx: BrokerContext,
    readonly actor: string,
  ) {}

  async record<T>(
    action: string,
    target: string,
    details: Record<string, unknown>,
    run: () => Promise<T>,
    summary?: (result: T) => Record<string, unknown>,
  ): Promise<T> {
    let result: T;
    try {
      result = await run();
    } catch (error) {
      const reason = error instanceof HeraldError ? `${error.code}: ${error.message}` : errorText(error);
      await this.write(action, target, details, `failed: ${reason.slice(0, 1_000)}`);
      throw error;
    }
    await this.write(action, target, summary ? { ...details, ...summary(result) } : details, 'ok');
    return result;
  }

  private async write(action: string, target: string, details: Record<string, unknown>, outcome: string): Promise<void> {
    try {
      await recordAudit(this.ctx.pool, { actor: this.actor, action, target, details, outcome });
    } catch (error) {
      this.ctx.options.logger.log('error', 'could not write the audit log', { action, target, actor: this.actor, outcome, error: errorText(error) });
    }
  }
}
