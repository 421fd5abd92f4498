import { timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Broker } from '../broker';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { createConsoleHandler } from './console-handler';
import type { ConsoleRole, ConsoleUser } from './console-request';

export interface ConsoleServerOptions {
  broker: Broker;
  /** Default 127.0.0.1. Any other than a loopback address needs `credentials`. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  readOnly?: boolean;
  /** HTTP Basic credentials every request must carry; without them, whoever reaches the loopback address is `role`. */
  credentials?: { user: string; password: string };
  /** What the (authenticated or local) user may do. Default admin. */
  role?: ConsoleRole;
}

export interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `herald console`: the console on its own HTTP server. */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  const role = options.role ?? 'admin';
  const credentials = options.credentials;
  if (!isLoopback(host) && credentials === undefined) {
    throw new InvalidOptionsError('host', `${host} is not a loopback address: give credentials (--user, HERALD_CONSOLE_PASSWORD) to serve the console there`);
  }
  if (credentials !== undefined && (credentials.user === '' || credentials.password.length < 8)) {
    throw new InvalidOptionsError('credentials', 'need a user name and a password of at least 8 characters');
  }
  const authorize = (req: IncomingMessage): ConsoleUser | null => {
    if (credentials === undefined) return { name: 'local', role };
    const header = req.headers.authorization ?? '';
    const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : '';
    const at = decoded.indexOf(':');
    if (at < 0 || !sameSecret(decoded.slice(0, at), credentials.user) || !sameSecret(decoded.slice(at + 1), credentials.password)) return null;
    return { name: credentials.user, role };
  };
  const handler = createConsoleHandler({ broker: options.broker, readOnly: options.readOnly ?? false, authorize });
  const server = createServer((req, res) => {
    if (credentials !== undefined && authorize(req) === null) {
      res.statusCode = 401;
      res.setHeader('WWW-Authenticate', 'Basic realm="Herald console", charset="UTF-8"');
      res.end('credentials needed');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://console.invalid').pathname;
    void handler(req, res, path);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
