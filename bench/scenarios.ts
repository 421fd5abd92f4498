import { build } from 'hdr-histogram-js';
import type { BenchMessage, QueueSystem } from './systems/system';

export interface ScenarioSizes {
  /** Messages in the single, batch and drain scenarios. */
  n: number;
  /** Offered rates of the live scenario, messages/s. */
  liveRates: number[];
  /** How long each live run offers load, ms. */
  liveMs: number;
}

const message = (seq: number): BenchMessage => ({ sentAt: performance.now(), seq });

/**
 * Resolves once `count` distinct messages (by seq) were handled, or rejects after
 * `timeoutMs`: a system that delivers some twice must still deliver every one.
 */
function counter(count: number, timeoutMs: number): { hit: (m: BenchMessage) => void; done: Promise<void>; seen: () => number; duplicates: () => number } {
  const seen = new Set<number>();
  let duplicates = 0;
  let resolve: () => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(
    () => reject(new Error(`only ${seen.size} of ${count} distinct messages handled within ${timeoutMs} ms (${duplicates} duplicates)`)),
    timeoutMs,
  );
  return {
    hit: (m) => {
      if (seen.has(m.seq)) {
        duplicates += 1;
        return;
      }
      seen.add(m.seq);
      if (seen.size === count) {
        clearTimeout(timer);
        resolve();
      }
    },
    done,
    seen: () => seen.size,
    duplicates: () => duplicates,
  };
}

/** Runs `send` for N messages from 32 concurrent callers, each awaiting its send before the next: messages/s. */
async function fromCallers(system: QueueSystem, run: string, n: number, send: (m: BenchMessage) => Promise<void>): Promise<number> {
  await system.prepare(run);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < n) {
        next += 1;
        await send(message(next));
      }
    }),
  );
  const rate = n / ((performance.now() - started) / 1000);
  await system.cleanUp();
  return rate;
}

/** N sends, one message each, from 32 concurrent callers: messages/s. */
export function singleSends(system: QueueSystem, run: string, { n }: ScenarioSizes): Promise<number> {
  return fromCallers(system, run, n, (m) => system.sendOne(m));
}

/** N transactional messages (half, local transaction in another database, commit), 32 concurrent callers: messages/s. */
export async function transactionalSends(system: QueueSystem, run: string, { n }: ScenarioSizes): Promise<number | null> {
  const send = system.sendTransactional?.bind(system);
  return send ? fromCallers(system, run, n, send) : null;
}

/** N transactional messages through the framework (a decorated method writing one row), 32 concurrent callers: messages/s. */
export async function decoratedSends(system: QueueSystem, run: string, { n }: ScenarioSizes): Promise<number | null> {
  const send = system.sendDecorated?.bind(system);
  return send ? fromCallers(system, run, n, send) : null;
}

/** N messages sent 1 000 per call: messages/s. */
export async function batchSends(system: QueueSystem, run: string, { n }: ScenarioSizes): Promise<number> {
  await system.prepare(run);
  const started = performance.now();
  for (let sent = 0; sent < n; sent += 1_000) {
    await system.sendBatch(Array.from({ length: Math.min(1_000, n - sent) }, (_, i) => message(sent + i)));
  }
  const rate = n / ((performance.now() - started) / 1000);
  await system.cleanUp();
  return rate;
}

/** A backlog of N consumed with a no-op handler, from worker start to the last message: messages/s. */
export async function drain(system: QueueSystem, run: string, { n }: ScenarioSizes): Promise<number> {
  await system.prepare(run);
  for (let sent = 0; sent < n; sent += 1_000) {
    await system.sendBatch(Array.from({ length: Math.min(1_000, n - sent) }, (_, i) => message(sent + i)));
  }
  const count = counter(n, 300_000);
  const started = performance.now();
  await system.startWorker(count.hit);
  await count.done;
  const rate = n / ((performance.now() - started) / 1000);
  await system.stopWorker();
  await system.cleanUp();
  return rate;
}

export interface LiveResult {
  offered: number;
  achieved: number;
  p50: number;
  p99: number;
  max: number;
}

/** Offers messages at a fixed rate while a worker consumes: end-to-end latency in ms, from when each was due to be sent to its handler. */
export async function live(system: QueueSystem, run: string, rate: number, { liveMs }: ScenarioSizes): Promise<LiveResult> {
  await system.prepare(run);
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  const total = Math.round((rate * liveMs) / 1000);
  const count = counter(total, liveMs + 120_000);
  await system.startWorker((m) => {
    histogram.recordValue(Math.max(1, Math.round((performance.now() - m.sentAt) * 1000)));
    count.hit(m);
  });
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  // Open loop: message i is due at started + i / rate, and its latency counts from then,
  // so a system that falls behind is charged for the wait (no coordinated omission).
  // At most 256 sends in flight, so a slow system is not buried under its own backlog.
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    for (; sent < due; sent += 1) {
      if (inFlight.size >= 256) await Promise.race(inFlight);
      const send: Promise<void> = system.sendOne({ sentAt: started + (sent / rate) * 1000, seq: sent }).finally(() => inFlight.delete(send));
      inFlight.add(send);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inFlight);
  const sendSeconds = (performance.now() - started) / 1000;
  await count.done;
  const result = {
    offered: rate,
    achieved: total / sendSeconds,
    p50: histogram.getValueAtPercentile(50) / 1000,
    p99: histogram.getValueAtPercentile(99) / 1000,
    max: histogram.maxValue / 1000,
  };
  histogram.destroy();
  await system.stopWorker();
  await system.cleanUp();
  return result;
}
