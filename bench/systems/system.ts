/** What the benchmark needs from a queue: the same four operations, done the way each library recommends. */
export interface BenchMessage {
  /** performance.now() when sent, for end-to-end latency. */
  sentAt: number;
  seq: number;
}

/** Where a system keeps its tables, for scenarios that probe PostgreSQL directly (Herald's long-snapshot scenario). */
export interface BrokerDatabase {
  url: string;
  /** Schema of the broker's tables. */
  schema: string;
}

export interface QueueSystem {
  readonly name: string;
  /** The settings used, printed with the results. */
  readonly settings: string;
  /** Prepares a fresh queue (topic) for one scenario run. */
  prepare(run: string): Promise<void>;
  sendOne(message: BenchMessage): Promise<void>;
  sendBatch(messages: BenchMessage[]): Promise<void>;
  /** Starts consuming the prepared queue; `onMessage` is the no-op handler's only work. */
  startWorker(onMessage: (message: BenchMessage) => void): Promise<void>;
  stopWorker(): Promise<void>;
  /**
   * Transactional send where the system has one: store the message invisibly, run a
   * local transaction in the service's own database, then make the message visible.
   */
  sendTransactional?(message: BenchMessage): Promise<void>;
  /** The same through the system's framework integration (Herald: a Nest @TransactionalMessage method). */
  sendDecorated?(message: BenchMessage): Promise<void>;
  /** The broker's database, for scenarios that open sessions of their own on it. */
  readonly brokerDatabase?: BrokerDatabase;
  /** Removes what the run left behind, so runs do not slow each other down. */
  cleanUp(): Promise<void>;
  close(): Promise<void>;
}

export const encode = (message: BenchMessage): string => JSON.stringify(message);
