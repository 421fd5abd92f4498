import { Client, ClientConfig } from 'pg';
import type { BrokerLogger } from '../logger';
import { errorText } from '../logger';

type Handler = (payload: string) => void;

/** The payload every handler gets after a reconnect: notifications may have been missed meanwhile. */
export const RECONNECTED = '*';

/**
 * One dedicated connection that LISTENs for the broker's channels and reconnects by
 * itself. After a reconnect every handler is called with payload RECONNECTED (`*`): notifications
 * sent while the connection was down are lost, so listeners must re-check.
 */
export class NotificationListener {
  private client: Client | null = null;
  private readonly handlers = new Map<string, Set<Handler>>();
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private connecting: Promise<void> | null = null;
  /** Advisory locks this session holds; a new session (after a reconnect) holds none. */
  private readonly locks = new WeakMap<Client, Set<string>>();
  /** Told when the connection is lost and when it is back (for metrics). */
  onConnectionEvent: ((event: 'lost' | 'reconnected') => void) | null = null;

  constructor(
    private readonly config: ClientConfig,
    private readonly logger: BrokerLogger,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  subscribe(channel: string, handler: Handler): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      if (this.client) {
        this.client.query(`LISTEN ${this.client.escapeIdentifier(channel)}`).catch((error: unknown) => {
          this.logger.log('warn', 'LISTEN failed; reconnecting', { channel, error: errorText(error) });
          this.dropClient();
        });
      }
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  /**
   * Holds `key` as a session advisory lock on this connection when it is free: true while
   * held. The lock goes with the session (a crash or reconnect releases it), so another
   * instance's next call takes it over.
   */
  async holdLock(key: string): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    const held = this.locks.get(client) ?? new Set<string>();
    if (held.has(key)) return true;
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
    if (rows[0]?.ok === true && this.client === client) {
      held.add(key);
      this.locks.set(client, held);
      return true;
    }
    return false;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private connect(): Promise<void> {
    this.connecting = (async () => {
      const client = new Client(this.config);
      client.on('error', (error) => {
        this.logger.log('warn', 'notification connection lost; reconnecting', { error: errorText(error) });
        if (this.client === client) this.dropClient();
      });
      client.on('end', () => {
        if (this.client === client) this.dropClient();
      });
      client.on('notification', (note) => {
        const set = this.handlers.get(note.channel);
        if (set) for (const handler of set) handler(note.payload ?? '');
      });
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      if (this.closed) {
        await client.end();
        return;
      }
      this.client = client;
      this.attempt = 0;
    })();
    return this.connecting.finally(() => {
      this.connecting = null;
    });
  }

  private dropClient(): void {
    const client = this.client;
    this.client = null;
    if (client) this.onConnectionEvent?.('lost');
    client?.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = Math.min(5_000, 100 * 2 ** this.attempt);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect().then(
        () => {
          this.onConnectionEvent?.('reconnected');
          for (const set of this.handlers.values()) for (const handler of set) handler(RECONNECTED);
        },
        (error: unknown) => {
          this.logger.log('warn', 'notification reconnect failed', { attempt: this.attempt, error: errorText(error) });
          this.scheduleReconnect();
        },
      );
    }, delay);
  }
}
