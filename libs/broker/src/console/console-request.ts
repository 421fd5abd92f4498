import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a console user may do: viewers read, operators also resend, reset and resolve, admins also create, delete and purge. */
export type ConsoleRole = 'viewer' | 'operator' | 'admin';

const RANK: Record<ConsoleRole, number> = { viewer: 0, operator: 1, admin: 2 };

export function mayAct(role: ConsoleRole, needed: ConsoleRole): boolean {
  return RANK[role] >= RANK[needed];
}

/** Who is asking, as the host app (or the standalone server) decides. */
export interface ConsoleUser {
  /** Recorded in the audit log as `console:<name>`. */
  name: string;
  role: ConsoleRole;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const CSRF_COOKIE = 'herald_csrf';
const MAX_FORM_BYTES = 64 * 1024;

function cookies(req: IncomingMessage): Map<string, string> {
  const found = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) found.set(part.slice(0, at).trim(), decodeURIComponent(part.slice(at + 1).trim()));
  }
  return found;
}

/**
 * The CSRF token of this browser: a random value in a SameSite=Strict, HttpOnly cookie,
 * repeated in every form (double submit). The cookie has no Path, so it stays with the
 * console's own folder, wherever the console is mounted.
 */
export function csrfToken(req: IncomingMessage, res: ServerResponse): string {
  const existing = cookies(req).get(CSRF_COOKIE);
  if (existing !== undefined && /^[0-9a-f]{64}$/.test(existing)) return existing;
  const token = randomBytes(32).toString('hex');
  res.setHeader('Set-Cookie', `${CSRF_COOKIE}=${token}; HttpOnly; SameSite=Strict`);
  return token;
}

/** Refuses a mutation whose form does not carry the cookie's token, or that comes from another origin. */
export function checkCsrf(req: IncomingMessage, form: URLSearchParams): void {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      throw new HttpError(403, 'a cross-origin request');
    }
    if (host !== req.headers.host) throw new HttpError(403, `a cross-origin request (from ${origin})`);
  }
  const cookie = cookies(req).get(CSRF_COOKIE) ?? '';
  const given = form.get('_csrf') ?? '';
  if (cookie.length !== 64 || given.length !== 64 || !timingSafeEqual(Buffer.from(cookie), Buffer.from(given))) {
    throw new HttpError(403, 'missing or wrong CSRF token: reload the page and try again');
  }
}

/** The form of a POST: already parsed by the host's body parser (Express, Nest), or read here (at most 64 KiB). */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  if (parsed !== null && typeof parsed === 'object' && !Buffer.isBuffer(parsed)) {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'string') form.append(key, v);
    }
    return form;
  }
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) throw new HttpError(415, 'forms only (application/x-www-form-urlencoded)');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new HttpError(413, `a form of more than ${MAX_FORM_BYTES} bytes`);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
