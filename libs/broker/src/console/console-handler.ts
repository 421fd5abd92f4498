import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Broker } from '../broker';
import { HeraldError } from '../errors/herald.error';
import { ACTIONS } from './actions';
import { checkCsrf, ConsoleUser, csrfToken, HttpError, mayAct, readForm } from './console-request';
import { html, page, toText } from './html';
import { audit, message, messages } from './message-pages';
import { dlq, group, groups, overview, PageContext, Rendered, topics, transactions } from './pages';

/** Every page, by its path under the console's root. */
const PAGES: Record<string, (ctx: PageContext) => Promise<Rendered>> = { '': overview, topics, groups, group, dlq, transactions, messages, message, audit };

export interface ConsoleOptions {
  broker: Broker;
  /** Refuse every mutation, on the server (not only hidden in the page). Default false. */
  readOnly?: boolean;
  /**
   * Who the request is from, and what they may do; null refuses the request (403). Called
   * for every request, after the host app's own guards. Default: every request is a viewer.
   */
  authorize?: (req: IncomingMessage) => ConsoleUser | null | Promise<ConsoleUser | null>;
}

/** Handles one request to the console; `path` is the part after where the console is mounted (`/`, `/groups`, ...). */
export type ConsoleHandler = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;

const NOT_FOUND_CODES = new Set(['GROUP_NOT_FOUND', 'TOPIC_NOT_FOUND', 'TRANSACTION_NOT_FOUND']);

function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (error instanceof HeraldError) {
    if (NOT_FOUND_CODES.has(error.code)) return 404;
    if (error.code.startsWith('INVALID') || error.code === 'ILLEGAL_STATE' || error.code.endsWith('_CONFLICT') || error.code === 'TRANSACTION_ALREADY_RESOLVED')
      return 409;
  }
  return 500;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/html; charset=utf-8'): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  // every asset is inline: nothing is fetched from anywhere, not even from this origin
  res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

/**
 * The web console as a plain Node request handler, served by the Nest module and by
 * `herald console` alike. Server-rendered HTML with forms, no script and no asset: it
 * works under any base path (relative links only) and needs no network.
 */
export function createConsoleHandler(options: ConsoleOptions): ConsoleHandler {
  const readOnly = options.readOnly ?? false;
  const authorize = options.authorize ?? ((): ConsoleUser => ({ name: 'anonymous', role: 'viewer' }));
  return async (req, res, path) => {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const name = path.replace(/^\/+/, '').replace(/\/+$/, '');
    let user: ConsoleUser | null = null;
    try {
      user = await authorize(req);
      if (user === null) throw new HttpError(403, 'not allowed to use the Herald console');
      const who = `${user.name} · ${user.role}${readOnly ? ' · read-only' : ''}`;
      const admin = options.broker.admin.as(`console:${user.name}`);
      const csrf = csrfToken(req, res);
      if (req.method === 'POST') {
        const action = ACTIONS[name];
        if (action === undefined) throw new HttpError(404, `no action ${name}`);
        if (readOnly) throw new HttpError(403, 'the console is read-only');
        if (!mayAct(user.role, action.role)) throw new HttpError(403, `${action.role} role needed (you are ${user.role})`);
        const form = await readForm(req);
        checkCsrf(req, form);
        const result = await action.run(admin, form);
        send(res, 200, toText(page(result.title, result.nav, who, result.body, { text: result.flash, error: false })));
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'GET or POST');
      if (name === 'dlq-export') {
        if (!mayAct(user.role, 'operator')) throw new HttpError(403, 'operator role needed to export bodies');
        const group = url.searchParams.get('group') ?? '';
        res.statusCode = 200;
        res.setHeader('Content-Type', 'application/x-ndjson');
        res.setHeader('Content-Disposition', `attachment; filename="dlq-${group.replace(/[^A-Za-z0-9_|-]/g, '_')}.ndjson"`);
        for await (const line of admin.exportDlq(group)) if (!res.write(line)) await new Promise((resolve) => res.once('drain', resolve));
        res.end();
        return;
      }
      const render = PAGES[name];
      if (render === undefined) throw new HttpError(404, `no page ${name}`);
      const ctx: PageContext = { admin, user, query: url.searchParams, csrf, readOnly };
      const rendered = await render(ctx);
      send(res, 200, toText(page(rendered.title, rendered.nav, who, rendered.body, null)));
    } catch (error) {
      const status = statusOf(error);
      const message = error instanceof HeraldError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
      if (res.headersSent) {
        res.destroy(error instanceof Error ? error : undefined);
        return;
      }
      const who = user === null ? '' : `${user.name} · ${user.role}`;
      send(
        res,
        status,
        toText(
          page(status === 500 ? 'Something went wrong' : 'Not done', '', who, html`<p><a href="./">Back to the overview</a></p>`, {
            text: message,
            error: true,
          }),
        ),
      );
    }
  };
}
