import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';

const KEY = Symbol.for('herald.liveResources');

/**
 * Node environment that fails a test leaking Herald brokers or consumers (and so
 * their pools, LISTEN connections and timers). It checks at `test_done`, after
 * every afterEach hook of the test file has had its chance to close them.
 */
export default class HeraldEnvironment extends TestEnvironment {
  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
  }

  async handleTestEvent(event: Circus.Event): Promise<void> {
    if (event.name !== 'test_done') return;
    const registry = (this.global as unknown as Record<symbol, Map<object, string> | undefined>)[KEY];
    if (!registry || registry.size === 0) return;
    const live = [...registry.values()];
    registry.clear();
    event.test.errors.push(new Error(`test leaked ${live.length} resource(s); close them in the test:\n  ${live.join('\n  ')}`));
  }
}
