import { InvalidOptionsError } from './errors/invalid-options.error';
import { InvalidTopicNameError } from './errors/invalid-topic-name.error';

const TOPIC_NAME = /^[A-Za-z0-9_%|-]{1,127}$/;
export const RETRY_PREFIX = '%RETRY%';
export const DLQ_PREFIX = '%DLQ%';

export const retryTopicOf = (group: string): string => `${RETRY_PREFIX}${group}`;
export const dlqTopicOf = (group: string): string => `${DLQ_PREFIX}${group}`;

export function isSystemTopic(topic: string): boolean {
  return topic.startsWith(RETRY_PREFIX) || topic.startsWith(DLQ_PREFIX);
}

/** Validates a topic name a user chose; `%RETRY%` and `%DLQ%` topics belong to the broker. */
export function assertUserTopicName(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string') throw new InvalidTopicNameError(String(topic), 'must be a string');
  if (!TOPIC_NAME.test(topic)) {
    throw new InvalidTopicNameError(topic, 'must match ^[A-Za-z0-9_%|-]{1,127}$');
  }
  if (isSystemTopic(topic)) {
    throw new InvalidTopicNameError(topic, `the prefixes ${RETRY_PREFIX} and ${DLQ_PREFIX} are reserved for the broker`);
  }
}

const GROUP_NAME = /^[A-Za-z0-9_|-]{1,120}$/;

/** Group names end up inside topic names (`%RETRY%<group>`), so they follow the same alphabet. */
export function isValidGroupName(group: unknown): group is string {
  return typeof group === 'string' && GROUP_NAME.test(group);
}

/** Throws InvalidOptionsError naming `field` unless `group` is a valid group name. */
export function assertGroupName(group: unknown, field = 'group'): asserts group is string {
  if (!isValidGroupName(group)) throw new InvalidOptionsError(field, `must match ${GROUP_NAME.source}`);
}
