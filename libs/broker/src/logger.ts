export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined | null>;

/** Structured logger. Herald never passes message bodies or connection strings. */
export interface BrokerLogger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * `key=value` pairs, logfmt style (values with spaces, quotes or `=` JSON-quoted), each with a
 * leading space; undefined and null fields are left out. For BrokerLogger implementations.
 */
export function formatLogFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => {
      const text = String(value);
      return ` ${key}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`;
    })
    .join('');
}

/** `level=warn msg="..." topic=x group=y` lines on stderr, at or above `minLevel`. */
export class ConsoleLogger implements BrokerLogger {
  constructor(private readonly minLevel: LogLevel = 'warn') {}

  log(level: LogLevel, message: string, fields?: LogFields): void {
    if (RANK[level] < RANK[this.minLevel]) return;
    process.stderr.write(`level=${level} component=herald msg=${JSON.stringify(message)}${formatLogFields(fields)}\n`);
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
