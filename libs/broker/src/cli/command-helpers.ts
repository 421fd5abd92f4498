/** What the command files share: running an action with an audited admin, and how messages print. */
import type { Command } from 'commander';
import type { Admin } from '../admin/admin';
import type { MessageView } from '../message';
import { GlobalOptions, withBroker } from './cli-context';

export type Action = (admin: Admin, globals: GlobalOptions) => Promise<void>;

/** Runs `action` with an admin recorded in the audit log as `cli:<OS user>@<host>`. */
export function admin(command: Command, action: Action): Promise<void> {
  const globals = command.optsWithGlobals<GlobalOptions>();
  return withBroker(globals, (broker) => action(broker.admin.as(`cli:${broker.admin.actor}`), globals));
}

export const printable = (body: Buffer): boolean => {
  const text = body.toString('utf8');
  // eslint-disable-next-line no-control-regex -- control characters (other than tab and newlines) mean binary
  return Buffer.from(text, 'utf8').equals(body) && !/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(text);
};

/** A message for output: the body as text when it is printable UTF-8, else base64. */
export function messageRecord(m: MessageView): Record<string, unknown> {
  const body = printable(m.body) ? { body: m.body.toString('utf8') } : { bodyBase64: m.body.toString('base64') };
  return {
    msgId: m.msgId,
    topic: m.topic,
    tag: m.tag ?? null,
    keys: m.keys,
    messageGroup: m.messageGroup ?? null,
    properties: m.properties,
    queueId: m.queueId,
    queueOffset: m.queueOffset,
    bornAt: m.bornAt,
    storedAt: m.storedAt,
    reconsumeTimes: m.reconsumeTimes,
    ...body,
  };
}

export const MESSAGE_COLUMNS: [string, (m: MessageView) => string | number | Date | null][] = [
  ['MSG_ID', (m) => m.msgId],
  ['QID', (m) => m.queueId],
  ['OFFSET', (m) => m.queueOffset],
  ['TAG', (m) => m.tag ?? null],
  ['KEYS', (m) => m.keys.join(',') || null],
  ['STORED_AT', (m) => m.storedAt],
  ['BYTES', (m) => m.body.length],
];

export function repeatable(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
