import { GroupNotFoundError, InvalidOptionsError } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

describe('admin', () => {
  it('reports per-queue offsets, group progress with lag, members and their queues', async () => {
    const broker = await openBroker();
    const topic = uniqueName('watched');
    const group = uniqueName('watchers');
    await broker.admin.createTopic(topic, { queues: 2 });
    const producer = broker.producer({ group: 'p' });
    for (let i = 0; i < 6; i += 1) await producer.send({ topic, body: `m${i}` });
    const queues = (await broker.admin.listTopics()).find((t) => t.name === topic)?.queues;
    expect(queues).toEqual([
      { queueId: 0, minOffset: 0, maxOffset: 3 },
      { queueId: 1, minOffset: 0, maxOffset: 3 },
    ]);

    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      consumeFromWhere: 'FIRST_OFFSET',
      offsetCommitInterval: 20,
      handler: () => gate,
    });
    await consumer.start();
    const blocked = await broker.admin.groupProgress(group);
    expect(blocked.filter((q) => q.topic === topic).map((q) => q.lag)).toEqual([3, 3]);
    const members = await broker.admin.groupMembers(group);
    expect(members).toHaveLength(1);
    expect(members[0].clientId).toBe(consumer.clientId);
    expect(members[0].pid).toBe(process.pid);
    expect(members[0].queues.filter((q) => q.topic === topic)).toEqual([
      { topic, queueId: 0 },
      { topic, queueId: 1 },
    ]);

    release();
    await waitFor(async () => (await broker.admin.groupProgress(group)).filter((q) => q.topic === topic).every((q) => q.lag === 0 && q.consumerOffset === 3), {
      what: 'lag drained to 0',
    });
    await consumer.shutdown();
    expect(await broker.admin.groupMembers(group)).toEqual([]);
  });

  it('queryMessage returns the message and which groups consumed it; unknown ids give null', async () => {
    const broker = await openBroker();
    const topic = uniqueName('traced');
    const group = uniqueName('tracer');
    await broker.admin.createTopic(topic, { queues: 1 });
    const consumer = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, offsetCommitInterval: 20, handler: () => undefined });
    await consumer.start();
    const receipt = await broker.producer({ group: 'p' }).send({ topic, body: 'find me', keys: ['order-1'] });
    const traced = await waitFor(
      async () => {
        const result = await broker.admin.queryMessage(receipt.msgId);
        return result?.trace.groups.find((g) => g.group === group)?.consumed ? result : null;
      },
      { what: 'message consumed by the group' },
    );
    expect(traced.message).toMatchObject({ msgId: receipt.msgId, topic, keys: ['order-1'], queueOffset: receipt.queueOffset });
    expect(traced.trace.stored).toHaveLength(1);
    expect(await broker.admin.queryMessage('0'.repeat(32))).toBeNull();
    await expect(broker.admin.queryMessage('not-an-id')).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(broker.admin.groupProgress('never-seen')).rejects.toBeInstanceOf(GroupNotFoundError);
    await expect(broker.admin.groupMembers('bad name!')).rejects.toMatchObject({ field: 'group' });
    await consumer.shutdown();
  });
});
