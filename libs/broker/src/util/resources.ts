/**
 * Live brokers and consumers of this process, by description. The test harness
 * fails any test after which this is not empty: every pool, LISTEN connection and
 * timer Herald opens belongs to a broker or consumer listed here. Kept on
 * globalThis so a test environment outside the module registry can read it.
 */
const KEY = Symbol.for('herald.liveResources');
type Registry = Map<object, string>;
const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
const live: Registry = (holder[KEY] ??= new Map<object, string>());

export function trackResource(owner: object, description: string): void {
  live.set(owner, description);
}

export function untrackResource(owner: object): void {
  live.delete(owner);
}

export function liveResources(): string[] {
  return [...live.values()];
}
