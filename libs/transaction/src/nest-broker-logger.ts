import { Logger } from '@nestjs/common';
import type { BrokerLogger, LogFields, LogLevel } from '@herald/broker';

/** `message key=value ...`: ids and names only, never bodies or connection strings. */
export function formatLog(message: string, fields: LogFields = {}): string {
  const parts = Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => {
      const text = String(value);
      return `${key}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`;
    });
  return parts.length === 0 ? message : `${message} ${parts.join(' ')}`;
}

/** Routes the broker's structured logs to Nest's Logger under the `Herald` context. */
export class NestBrokerLogger implements BrokerLogger {
  constructor(private readonly logger: Logger = new Logger('Herald')) {}

  log(level: LogLevel, message: string, fields?: LogFields): void {
    const line = formatLog(message, fields);
    if (level === 'error') this.logger.error(line);
    else if (level === 'warn') this.logger.warn(line);
    else if (level === 'info') this.logger.log(line);
    else this.logger.debug(line);
  }
}
