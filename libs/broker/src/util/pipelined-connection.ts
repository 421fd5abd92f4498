import { Client, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import type { BrokerLogger } from '../logger';
import { errorText } from '../logger';

/**
 * One connection in node-postgres' pipeline mode: queries go out without waiting
 * for the previous answer and the server runs them in order, each in its own
 * transaction. Reconnects on the next query after a failure.
 */
export class PipelinedConnection {
  private client: Promise<Client> | null = null;
  private closed = false;

  constructor(
    private readonly connectionString: string,
    private readonly searchPath: string,
    private readonly logger: BrokerLogger,
  ) {}

  async query<R extends QueryResultRow>(config: QueryConfig): Promise<QueryResult<R>> {
    const client = await this.connect();
    return client.query<R>(config);
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    if (client) await (await client.catch(() => null))?.end().catch(() => undefined);
  }

  private connect(): Promise<Client> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    if (!this.client) {
      const client = new Client({ connectionString: this.connectionString, options: `-c search_path=${this.searchPath}`, pipeline: true });
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
