import type * as Prom from 'prom-client';
import { InvalidOptionsError } from '../errors/invalid-options.error';

export type PromClient = typeof Prom;

/**
 * prom-client is an optional peer: loaded only when metrics are on, with a clear error when
 * it is not installed. `require`, not `import()`: this package is CommonJS, and the app's
 * own prom-client (hoisted next to it) must be the same instance, so its global registry is
 * the app's.
 */
export function loadPromClient(): PromClient {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('prom-client') as PromClient;
  } catch (error) {
    throw new InvalidOptionsError(
      'metrics',
      `needs the optional peer dependency prom-client (npm install prom-client): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
