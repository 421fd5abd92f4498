import type { Pool } from 'pg';
import type { Channels } from './store/notifications';
import type { ResolvedBrokerOptions } from './broker-options';
import type { TopicRoutes } from './topic-routes';
import type { GroupCommit, GroupCommitLimits } from './util/group-commit';
import type { NotificationListener } from './store/notification-listener';
import type { AppendResult, QueuedMessage } from './store/messages';
import type { AppendedOffsets } from './producer/appended-offsets';
import type { MetricsRecorder } from './metrics/metrics-recorder';
import type { Tracing } from './tracing/tracing';

/** What the broker's parts share; internal, not exported from the lib. */
export interface BrokerContext {
  readonly options: ResolvedBrokerOptions;
  /** Consumers, simple consumers, admin and topic routes (`<app>:consumer`). */
  readonly pool: Pool;
  /** Transaction producers, check-backs and scheduled sends (`<app>:producer`). */
  readonly producerPool: Pool;
  /** The due-message mover and the retention pass (`<app>:scheduler`). */
  readonly schedulerPool: Pool;
  readonly listener: NotificationListener;
  readonly routes: TopicRoutes;
  /** Byte and count budgets of every group commit of messages. */
  readonly sendLimits: GroupCommitLimits<QueuedMessage>;
  readonly appender: GroupCommit<QueuedMessage, AppendResult>;
  /** What the appender has acknowledged, per queue (see AppendedOffsets). */
  readonly appended: AppendedOffsets;
  /** Group commit of messages not due yet (delays, retries) into scheduled_messages; the due-message mover takes them from there. */
  readonly delayedWriter: GroupCommit<QueuedMessage, void>;
  readonly channels: Channels;
  /** What producers, consumers and check-backs record; null when metrics are off. */
  readonly metrics: MetricsRecorder | null;
  /** Spans and trace propagation; null without @opentelemetry/api. */
  readonly tracing: Tracing | null;
  /** Throws IllegalStateError once the broker is closing. */
  assertOpen(operation: string): void;
}
