import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * In-memory keys and ids, written once. NUL separates parts: it cannot occur in topic names
 * (see topic-name.ts), so no two (topic, queue) pairs share a key.
 */
export const queueKey = (topic: string, queueId: number): string => `${topic}\u0000${queueId}`;

/** A stored message's position: topic, queue and offset. */
export const messageKey = (topic: string, queueId: number, queueOffset: number | string): string => `${topic}\u0000${queueId}\u0000${queueOffset}`;

/** A member's id in a consumer or producer group (RocketMQ's clientId): host, pid and a random part per instance. */
export function newClientId(): string {
  return `${hostname()}@${process.pid}@${randomBytes(4).toString('hex')}`;
}

/**
 * A broadcasting member's own key, `<group>@<instanceName>` (instanceName defaults to the
 * host name): its offsets are stored under it, and the Nest module keeps its inbox rows
 * under the same key, so a restarted member resumes and deduplicates as itself.
 */
export const broadcastMemberKey = (group: string, instanceName: string = hostname()): string => `${group}@${instanceName}`;
