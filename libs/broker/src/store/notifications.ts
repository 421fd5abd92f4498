/**
 * The LISTEN/NOTIFY contract, TypeScript side. The SQL side — channel names and how each
 * payload is written — is channel() and the notify_* functions in sql/functions.sql; this
 * module asks the database for the names and decodes the payloads. A notification only
 * wakes a sleeper early: every loop also polls (pollInterval), so a lost one costs latency.
 */
import { escapeIdentifier } from 'pg';
import { RECONNECTED } from './notification-listener';
import type { Db } from './db';

/** The broker's channels, as the database names them. */
export interface Channels {
  /** notify_messages(topic): messages were appended to a topic */
  messages: string;
  /** notify_scheduled(ms): a delayed message or retry is due in ms */
  scheduled: string;
  /** notify_group(group): a consumer group's membership or offsets changed */
  groups: string;
  /** notify_half_due(group, ms): a half of a producer group is due for check-back in ms */
  halves: string;
}

/** The channel names of `schema`, from channel() itself, so they cannot drift from the SQL. */
export async function channelNames(db: Db, schema: string): Promise<Channels> {
  const fn = `${escapeIdentifier(schema)}.channel`;
  const { rows } = await db.query<Channels>(`SELECT ${fn}('msg') AS messages, ${fn}('sched') AS scheduled, ${fn}('group') AS groups, ${fn}('half') AS halves`);
  return rows[0];
}

/** A topic that has new messages, or null: re-check every topic (a reconnect). */
export function decodeMessages(payload: string): string | null {
  return payload === RECONNECTED ? null : payload;
}

/** Milliseconds until the next scheduled message is due, or null: re-check now. */
export function decodeScheduled(payload: string): number | null {
  const ms = payload === RECONNECTED ? Number.NaN : Number(payload);
  return Number.isFinite(ms) ? ms : null;
}

/** The consumer group that changed, or null: every group re-checks. */
export function decodeGroupChange(payload: string): string | null {
  return payload === RECONNECTED ? null : payload;
}

/** The producer group with a half due and in how many milliseconds, or null: every group re-checks now. */
export function decodeHalfDue(payload: string): { group: string; dueInMs: number } | null {
  const space = payload.lastIndexOf(' ');
  const dueInMs = Number(payload.slice(space + 1));
  if (payload === RECONNECTED || space < 0 || !Number.isFinite(dueInMs)) return null;
  return { group: payload.slice(0, space), dueInMs };
}
