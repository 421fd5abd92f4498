import { Client, ClientConfig, DatabaseError, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { breaksConnection } from '../errors/store-errors';
import type { BrokerLogger } from '../logger';
import { errorText } from '../logger';

/**
 * One connection in node-postgres' pipeline mode: queries go out without waiting
 * for the previous answer and the server runs them in order, each in its own
 * transaction. After any failure that may leave it out of step with the server
 * (lost connection, a client-side error while encoding a query, which leaves
 * node-postgres believing in a prepared statement the server closed, a query
 * timeout) it is replaced: the next query opens a new one.
 */
export class PipelinedConnection {
  private client: Promise<Client> | null = null;
  private closed = false;

  constructor(
    private readonly config: ClientConfig,
    private readonly logger: BrokerLogger,
  ) {}

  async query<R extends QueryResultRow>(config: QueryConfig): Promise<QueryResult<R>> {
    try {
      return await this.attempt<R>(config);
    } catch (error) {
      // the statement never ran (the server had no such prepared statement): safe to run once more
      if (error instanceof DatabaseError && error.code === '26000') return this.attempt<R>(config);
      throw error;
    }
  }

  private async attempt<R extends QueryResultRow>(config: QueryConfig): Promise<QueryResult<R>> {
    const pending = this.connect();
    const client = await pending;
    try {
      return await client.query<R>(config);
    } catch (error) {
      if (breaksConnection(error)) this.discard(pending, error);
      throw error;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    if (client) await (await client.catch(() => null))?.end().catch(() => undefined);
  }

  private discard(pending: Promise<Client>, error: unknown): void {
    if (this.client !== pending) return;
    this.client = null;
    this.logger.log('warn', 'append connection replaced after a failure', { error: errorText(error) });
    void pending.then((client) => client.end()).catch(() => undefined);
  }

  private connect(): Promise<Client> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    if (!this.client) {
      const client = new Client({ ...this.config, pipeline: true });
      const forget = (): void => {
        if (this.client === pending) this.client = null;
      };
      client.on('error', (error) => {
        this.logger.log('warn', 'append connection lost; reconnecting on next send', { error: errorText(error) });
        forget();
      });
      client.on('end', forget);
      const pending: Promise<Client> = client.connect().then(
        () => client,
        (error: unknown) => {
          forget();
          throw error;
        },
      );
      this.client = pending;
    }
    return this.client;
  }
}
