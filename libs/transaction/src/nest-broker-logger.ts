import { Logger } from '@nestjs/common';
import { formatLogFields } from '@herald/broker';
import type { BrokerLogger, LogFields, LogLevel } from '@herald/broker';

/** Routes the broker's structured logs to Nest's Logger under the `Herald` context. */
export class NestBrokerLogger implements BrokerLogger {
  constructor(private readonly logger: Logger = new Logger('Herald')) {}

  log(level: LogLevel, message: string, fields?: LogFields): void {
    // ids and names only, never bodies or connection strings
    const line = message + formatLogFields(fields);
    if (level === 'error') this.logger.error(line);
    else if (level === 'warn') this.logger.warn(line);
    else if (level === 'info') this.logger.log(line);
    else this.logger.debug(line);
  }
}
