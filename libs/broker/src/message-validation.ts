import { RESERVED_PROPERTIES } from './reserved-properties';
import { InvalidMessageError } from './errors/invalid-message.error';
import { MessageTooLargeError } from './errors/message-too-large.error';
import type { Message } from './message';
import { newMsgId } from './msg-id';
import { textProblem } from './util/text';
import { assertUserTopicName } from './topic-name';

/** Limits on the non-body parts of a message (RocketMQ uses similar bounds). */
export const MESSAGE_LIMITS = {
  tagLength: 128,
  keys: 32,
  keyLength: 128,
  messageGroupLength: 128,
  properties: 64,
  propertyValueLength: 4096,
} as const;

const PROPERTY_NAME = /^[A-Za-z_$][A-Za-z0-9_.$-]{0,63}$/;

/** A validated message, ready for the store. */
export interface OutgoingMessage {
  topic: string;
  msgId: string;
  body: Buffer;
  tag: string | null;
  keys: string[] | null;
  messageGroup: string | null;
  properties: Record<string, string> | null;
  bornAt: Date;
  reconsumeTimes: number;
  originTopic: string | null;
  /** Milliseconds until delivery; 0 for an immediate message. */
  delayMs: number;
  /** Bytes it takes in a flush (see messageBytes), computed once. */
  bytes: number;
  /** Its queue, set by the producer; -1 (ANY_QUEUE): the flush picks one. */
  queueId: number;
  /** With ANY_QUEUE: the topic's queue count. */
  queueCount: number;
}

export interface DelayRules {
  delayLevels: readonly number[];
  maxDelay: number;
}

function checkDelay(message: Message, rules: DelayRules, topic: string, now: number): number {
  const { delayLevel, deliverAt } = message;
  if (delayLevel !== undefined && delayLevel !== null && deliverAt !== undefined && deliverAt !== null) {
    throw new InvalidMessageError('delayLevel', 'give delayLevel or deliverAt, not both', topic);
  }
  if (delayLevel !== undefined && delayLevel !== null) {
    if (!Number.isInteger(delayLevel) || delayLevel < 1 || delayLevel > rules.delayLevels.length) {
      throw new InvalidMessageError('delayLevel', `must be an integer from 1 to ${rules.delayLevels.length}, got ${JSON.stringify(delayLevel)}`, topic);
    }
    return rules.delayLevels[delayLevel - 1];
  }
  if (deliverAt !== undefined && deliverAt !== null) {
    const at = deliverAt instanceof Date ? deliverAt.getTime() : deliverAt;
    if (typeof at !== 'number' || !Number.isFinite(at)) {
      throw new InvalidMessageError('deliverAt', 'must be a Date or epoch milliseconds', topic);
    }
    const delay = at - now;
    if (delay > rules.maxDelay) {
      throw new InvalidMessageError('deliverAt', `is ${delay} ms ahead; at most ${rules.maxDelay} ms (maxDelay) allowed`, topic);
    }
    return Math.max(0, Math.ceil(delay));
  }
  return 0;
}

function checkShortString(value: unknown, field: string, max: number, topic: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidMessageError(field, 'must be a non-empty string', topic);
  if (value.length > max) throw new InvalidMessageError(field, `is ${value.length} characters; at most ${max}`, topic);
  const problem = textProblem(value);
  if (problem !== null) throw new InvalidMessageError(field, problem, topic);
  return value;
}

function checkTag(tag: unknown, topic: string): string | null {
  if (tag === undefined || tag === null) return null;
  const text = checkShortString(tag, 'tag', MESSAGE_LIMITS.tagLength, topic);
  if (text.includes('||')) throw new InvalidMessageError('tag', 'must not contain "||" (it separates tags in filters)', topic);
  if (text.trim() !== text || text === '*') throw new InvalidMessageError('tag', 'must not be "*" or start or end with spaces', topic);
  return text;
}

function checkKeys(keys: unknown, topic: string): string[] | null {
  if (keys === undefined || keys === null) return null;
  if (!Array.isArray(keys)) throw new InvalidMessageError('keys', 'must be an array of strings', topic);
  if (keys.length > MESSAGE_LIMITS.keys) throw new InvalidMessageError('keys', `has ${keys.length} entries; at most ${MESSAGE_LIMITS.keys}`, topic);
  return keys.map((key, i) => checkShortString(key, `keys[${i}]`, MESSAGE_LIMITS.keyLength, topic));
}

function checkProperties(properties: unknown, topic: string): Record<string, string> | null {
  if (properties === undefined || properties === null) return null;
  if (typeof properties !== 'object' || Array.isArray(properties)) {
    throw new InvalidMessageError('properties', 'must be an object of string values', topic);
  }
  const entries = Object.entries(properties);
  if (entries.length > MESSAGE_LIMITS.properties) {
    throw new InvalidMessageError('properties', `has ${entries.length} entries; at most ${MESSAGE_LIMITS.properties}`, topic);
  }
  for (const [name, value] of entries) {
    if (!PROPERTY_NAME.test(name)) throw new InvalidMessageError(`properties.${name}`, 'name must match ^[A-Za-z_$][A-Za-z0-9_.$-]{0,63}$', topic);
    const reserved = RESERVED_PROPERTIES.get(name);
    if (reserved !== undefined) throw new InvalidMessageError(`properties.${name}`, `is reserved: ${reserved}`, topic);
    if (typeof value !== 'string') throw new InvalidMessageError(`properties.${name}`, 'value must be a string', topic);
    if (value.length > MESSAGE_LIMITS.propertyValueLength) {
      throw new InvalidMessageError(`properties.${name}`, `value is longer than ${MESSAGE_LIMITS.propertyValueLength} characters`, topic);
    }
    const problem = textProblem(value);
    if (problem !== null) throw new InvalidMessageError(`properties.${name}`, `value ${problem}`, topic);
  }
  return entries.length === 0 ? null : { ...(properties as Record<string, string>) };
}

/** Validates what a user passes to `send`; throws a typed error naming the bad field. */
export function toOutgoingMessage(message: Message, maxMessageSize: number, delays?: DelayRules): OutgoingMessage {
  if (message === null || typeof message !== 'object') throw new InvalidMessageError('message', 'must be an object');
  assertUserTopicName(message.topic);
  const topic = message.topic;
  let body: Buffer;
  if (Buffer.isBuffer(message.body)) body = message.body;
  else if (typeof message.body === 'string') body = Buffer.from(message.body, 'utf8');
  else throw new InvalidMessageError('body', 'must be a Buffer or a string', topic);
  if (body.length === 0) throw new InvalidMessageError('body', 'must not be empty', topic);
  if (body.length > maxMessageSize) throw new MessageTooLargeError(topic, body.length, maxMessageSize);
  const messageGroup =
    message.messageGroup === undefined || message.messageGroup === null
      ? null
      : checkShortString(message.messageGroup, 'messageGroup', MESSAGE_LIMITS.messageGroupLength, topic);
  const now = Date.now();
  const delayMs = delays ? checkDelay(message, delays, topic, now) : 0;
  const tag = checkTag(message.tag, topic);
  const keys = checkKeys(message.keys, topic);
  const properties = checkProperties(message.properties, topic);
  // every field set here, in one order: one object shape on the hot path
  return {
    topic,
    msgId: newMsgId(now),
    body,
    tag,
    keys,
    messageGroup,
    properties,
    bornAt: new Date(now),
    reconsumeTimes: 0,
    originTopic: null,
    delayMs,
    bytes: messageBytes({ body, tag, keys, messageGroup, properties }),
    queueId: -1,
    queueCount: 0,
  };
}

/**
 * Bytes a message takes in a flush: its body plus an upper bound of its text
 * fields in UTF-8 (3 bytes per UTF-16 unit), so byte budgets never undercount.
 */
export function messageBytes(message: Pick<OutgoingMessage, 'body' | 'tag' | 'keys' | 'messageGroup' | 'properties'>): number {
  let chars = (message.tag?.length ?? 0) + (message.messageGroup?.length ?? 0);
  if (message.keys !== null) for (const key of message.keys) chars += key.length;
  if (message.properties !== null) for (const [name, value] of Object.entries(message.properties)) chars += name.length + value.length;
  return message.body.length + 3 * chars;
}
