/** A sleep that `wake()` cuts short; a wake with nobody waiting is remembered for the next wait. */
export class WakeSignal {
  private waiter: (() => void) | null = null;
  private pendingWake = false;

  wake(): void {
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = null;
      resolve();
    } else {
      this.pendingWake = true;
    }
  }

  /** Resolves `true` when woken, `false` when `ms` passed. */
  wait(ms: number): Promise<boolean> {
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(false);
      }, ms);
      this.waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}
