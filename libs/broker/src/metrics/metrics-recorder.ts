/**
 * What the broker's parts record, as they see it. BrokerMetrics implements it on prom-client;
 * this interface keeps prom-client (an optional peer) out of every type but that class's.
 */
export type CheckBackOutcome = 'COMMIT' | 'ROLLBACK' | 'UNKNOWN' | 'error' | 'timeout';

export interface ConsumerRecorder {
  /** A message is handed to a consumer; `awaited`: it waited in this process for a handler. */
  delivered(message: { storedAt: Date; reconsumeTimes: number; body: Buffer }, awaited: boolean): void;
  /** A push handler ended; `startedAt` is a performance.now() reading. */
  processed(startedAt: number, ok: boolean): void;
}

export interface MetricsRecorder {
  /** A group commit stored `batch` in its queues. */
  appended(batch: readonly { topic: string; messageGroup: string | null; bytes: number }[]): void;
  /** Delayed messages (and retries) went to the schedule. */
  scheduled(batch: readonly { topic: string; messageGroup: string | null; bytes: number; reconsumeTimes: number }[]): void;
  /** A send call ended; `startedAt` is a performance.now() reading. */
  sent(topic: string, startedAt: number, ok: boolean): void;
  resolved(producerGroup: string, outcome: 'COMMIT' | 'ROLLBACK', results: readonly { status: string; topic: string | null; halfAgeMs: number | null }[]): void;
  /** What a consumer of `group` records per message of `topic` (resolved once per message, not per call). */
  consumer(group: string, topic: string): ConsumerRecorder;
  retried(group: string, topic: string): void;
  deadLettered(group: string, topic: string): void;
  checkedBack(producerGroup: string, outcome: CheckBackOutcome): void;
  rebalanced(group: string): void;
  connectionEvent(event: 'lost' | 'reconnected'): void;
  inboxDuplicate(group: string): void;
}
