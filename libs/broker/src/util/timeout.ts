/** What `within` resolves with when the time ran out first. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * What `work` settles with, or TIMED_OUT after `ms`, whichever comes first. The work is not
 * cancelled (a late result is ignored); the timer is cleared either way, so nothing lingers.
 */
export async function within<T>(work: PromiseLike<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for every promise to settle, or `timeoutMs`, whichever comes first; true if all settled in time. */
export async function settleWithin(promises: readonly Promise<unknown>[], timeoutMs: number): Promise<boolean> {
  return (await within(Promise.allSettled(promises), timeoutMs)) !== TIMED_OUT;
}
