/** What message queries and rates return, and the opaque cursor of a time search. */
import { InvalidOptionsError } from '../errors/invalid-options.error';
import type { MessageView } from '../message';
import type { TimeCursor } from '../store/messages';

/** A page of messages and where to go on from it. */
export interface MessagePage {
  messages: MessageView[];
  /** The cursor of the next page; null when this page was the last one there is now. */
  nextCursor: string | null;
  /** The position after this page's last message (null for an empty page), to look again later for what is stored meanwhile (a tail). */
  endCursor: string | null;
}

/** A rate over the window, or `unknown` (one sample only, or an offset reset moved it back). */
export type Rate = number | 'unknown';

/** Messages per second over the last `windowMs`, from the broker's throughput samples. */
export interface ThroughputRates {
  windowMs: number;
  /** Appended to each user topic. */
  topics: { topic: string; inPerSecond: Rate }[];
  /** Consumed by each group from each topic (offsets committed). */
  groups: { group: string; topic: string; outPerSecond: Rate }[];
}

export function encodeCursor(cursor: TimeCursor): string {
  return Buffer.from(JSON.stringify([cursor.storedAt, cursor.queueId, cursor.queueOffset])).toString('base64url');
}

export function decodeCursor(cursor: string): TimeCursor {
  try {
    const [storedAt, queueId, queueOffset] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof storedAt === 'string' && Number.isInteger(queueId) && Number.isSafeInteger(queueOffset) && !Number.isNaN(Date.parse(storedAt))) {
      return { storedAt, queueId: queueId as number, queueOffset: queueOffset as number };
    }
  } catch {
    // reported below
  }
  throw new InvalidOptionsError('cursor', 'is not a cursor this API returned');
}
