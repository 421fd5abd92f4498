import type { Broker } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

/**
 * Every wake-up of the LISTEN/NOTIFY contract (src/store/notifications.ts, channel() and notify_*
 * in sql/functions.sql) arrives by itself: polling and heartbeats are set to minutes here, so
 * whatever happens within the 10-second deadlines was woken by a notification.
 */
const SLOW = { pollInterval: 600_000, heartbeatInterval: 120_000, sessionTimeout: 600_000 } as const;
const DEADLINE = 10_000;

async function slowBroker(): Promise<Broker> {
  return openBroker(SLOW);
}

describe('LISTEN/NOTIFY wake-ups, without waiting for a poll', () => {
  it('messages: a push consumer and a waiting simple consumer receive a new message at once', async () => {
    const broker = await slowBroker();
    const topic = uniqueName('wake-msg');
    await broker.admin.createTopic(topic, { queues: 2 });
    const pushed: string[] = [];
    const consumer = broker.pushConsumer({
      group: uniqueName('push'),
      subscriptions: { [topic]: '*' },
      handler: (msg) => void pushed.push(msg.body.toString()),
    });
    await consumer.start();
    const simple = broker.simpleConsumer({ group: uniqueName('pull'), subscriptions: { [topic]: '*' } });
    const received = simple.receive({ maxMessages: 1, invisibleDuration: 30_000, awaitDuration: 60_000 });
    await broker.producer({ group: 'wake' }).send({ topic, body: 'hello' });
    await waitFor(() => pushed.length === 1, { timeoutMs: DEADLINE, what: 'the push consumer to get the message' });
    const [message] = await Promise.race([received, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('receive did not wake')), DEADLINE))]);
    expect(message.body.toString()).toBe('hello');
    await simple.ack(message);
    await consumer.shutdown();
  });

  it('scheduled: a delayed message is moved when due, not at the next poll', async () => {
    const broker = await slowBroker();
    const topic = uniqueName('wake-sched');
    await broker.admin.createTopic(topic, { queues: 1 });
    const got: string[] = [];
    const consumer = broker.pushConsumer({ group: uniqueName('sched'), subscriptions: { [topic]: '*' }, handler: (msg) => void got.push(msg.body.toString()) });
    await consumer.start();
    await broker.producer({ group: 'wake' }).send({ topic, body: 'later', deliverAt: Date.now() + 300 });
    await waitFor(() => got.length === 1, { timeoutMs: DEADLINE, what: 'the delayed message' });
    await consumer.shutdown();
  });

  it('groups: a member that joins gets its queues from the running member at once, not at its next heartbeat', async () => {
    const broker = await slowBroker();
    const topic = uniqueName('wake-group');
    const group = uniqueName('members');
    await broker.admin.createTopic(topic, { queues: 4 });
    const handler = (): void => undefined;
    const first = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler, instanceName: 'first' });
    await first.start();
    const second = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler, instanceName: 'second' });
    await second.start();
    await waitFor(
      async () => {
        const members = await broker.admin.groupMembers(group);
        // 4 queues of the topic and 1 of the group's %RETRY% topic: 3 and 2
        return members.length === 2 && members.every((m) => m.queues.length >= 2);
      },
      { timeoutMs: DEADLINE, what: 'the queues to be split 3 and 2' },
    );
    await Promise.all([first.shutdown(), second.shutdown()]);
  });

  it('halves: a half nobody commits is checked back when its transaction timeout runs out', async () => {
    const broker = await slowBroker();
    const topic = uniqueName('wake-half');
    await broker.admin.createTopic(topic, { queues: 1 });
    const checked: string[] = [];
    const producer = broker.transactionProducer({
      group: uniqueName('tx'),
      checker: (msg) => {
        checked.push(msg.transactionId);
        return 'ROLLBACK';
      },
      transactionTimeout: 300,
    });
    await producer.start();
    const half = await producer.sendHalf({ topic, body: 'x' });
    await waitFor(() => checked.includes(half.transactionId), { timeoutMs: DEADLINE, what: 'the check-back' });
    await producer.shutdown();
  });
});
