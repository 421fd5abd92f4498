/** What `waitFor` resolves with: the condition's value, once truthy. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many ms. Default 10 000. */
  timeoutMs?: number;
  /** Pause between polls, ms. Default 10. */
  intervalMs?: number;
  /** What is awaited, for the error. Default `condition`. */
  what?: string;
}

/**
 * Polls `condition` until it returns a truthy value (returned) or the deadline passes
 * (throws, naming what was awaited and the condition's last error, if it threw). The way
 * Herald's tests and demo wait for something to happen, instead of fixed sleeps.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions = {}): Promise<Truthy<T>> {
  const { timeoutMs = 10_000, intervalMs = 10, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as Truthy<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
