import { MessageView, TransactionAlreadyResolvedError, TransactionNotFoundError, TransactionResolution } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, queryStore, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

describe('transactional (half) messages', () => {
  it('prepareHalf assigns the ids and validates at once; nothing is stored until store()', async () => {
    const broker = await openBroker();
    const topic = uniqueName('prepared');
    await broker.admin.createTopic(topic, { queues: 2 });
    const group = uniqueName('tx-producers');
    const tx = broker.transactionProducer({ group, checker: () => 'UNKNOWN' });
    expect(() => tx.prepareHalf({ topic, body: '' })).toThrow(expect.objectContaining({ field: 'body' }));
    const half = tx.prepareHalf({ topic, body: 'prepared', keys: ['order-7'] });
    expect(half.msgId).toMatch(/^[0-9A-F]{32}$/);
    expect(await broker.admin.listHalfMessages({ group })).toEqual([]);
    await expect(tx.commit(half.transactionId)).rejects.toBeInstanceOf(TransactionNotFoundError);
    await half.store();
    expect((await broker.admin.listHalfMessages({ group })).map((h) => [h.transactionId, h.msgId])).toEqual([[half.transactionId, half.msgId]]);
    expect(await tx.commit(half.transactionId)).toMatchObject({ msgId: half.msgId, topic });
    expect((await broker.admin.queryMessagesByKey(topic, 'order-7')).map((m) => m.body.toString())).toEqual(['prepared']);
  });

  it('a half is invisible until commit, delivered once per group after it, and never after rollback', async () => {
    const broker = await openBroker();
    const topic = uniqueName('tx');
    await broker.admin.createTopic(topic, { queues: 2 });
    const got: MessageView[] = [];
    const consumer = broker.pushConsumer({ group: uniqueName('readers'), subscriptions: { [topic]: '*' }, handler: (m) => void got.push(m) });
    await consumer.start();
    const tx = broker.transactionProducer({ group: uniqueName('tx-producers'), checker: () => 'UNKNOWN' });
    const kept = await tx.sendHalf({ topic, body: 'kept', keys: ['order-1'] });
    const dropped = await tx.sendHalf({ topic, body: 'dropped' });
    const marker = broker.producer({ group: 'p' });
    await marker.send({ topic, body: 'marker-1' });
    await waitFor(() => got.length === 1, { what: 'marker delivered' });
    expect(got.map((m) => m.body.toString())).toEqual(['marker-1']);

    const receipt = await tx.commit(kept.transactionId);
    expect(receipt).toMatchObject({ msgId: kept.msgId, topic });
    await tx.rollback(dropped.transactionId);
    await marker.send({ topic, body: 'marker-2' });
    await waitFor(() => got.length === 3, { what: 'committed message and second marker' });
    expect(got.map((m) => m.body.toString()).sort()).toEqual(['kept', 'marker-1', 'marker-2']);
    expect(got.find((m) => m.body.toString() === 'kept')).toMatchObject({ msgId: kept.msgId, keys: ['order-1'] });

    // idempotence and typed errors
    expect((await tx.commit(kept.transactionId)).msgId).toBe(kept.msgId);
    await tx.rollback(dropped.transactionId);
    await expect(tx.rollback(kept.transactionId)).rejects.toBeInstanceOf(TransactionAlreadyResolvedError);
    await expect(tx.commit(dropped.transactionId)).rejects.toMatchObject({ constructor: TransactionAlreadyResolvedError, outcome: 'ROLLBACK' });
    await expect(tx.commit('no-such-transaction')).rejects.toBeInstanceOf(TransactionNotFoundError);
    await expect(tx.sendHalf({ topic, body: '' })).rejects.toMatchObject({ field: 'body' });
    const trace = await broker.admin.queryMessage(kept.msgId);
    expect(trace?.trace.stored).toHaveLength(1);
  });

  it('delay and messageGroup work on transactional messages too', async () => {
    const broker = await openBroker({ delayLevels: [300, 600, 900, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000] });
    const topic = uniqueName('tx-delay');
    await broker.admin.createTopic(topic, { queues: 8 });
    const got: MessageView[] = [];
    const consumer = broker.pushConsumer({ group: uniqueName('later'), subscriptions: { [topic]: '*' }, handler: (m) => void got.push(m) });
    await consumer.start();
    const tx = broker.transactionProducer({ group: uniqueName('tx-delayers'), checker: () => 'UNKNOWN' });
    const plain = await broker.producer({ group: 'p' }).send({ topic, body: 'same group', messageGroup: 'order-9' });
    const delayed = await tx.sendHalf({ topic, body: 'delayed', delayLevel: 1, messageGroup: 'order-9' });
    const receipt = await tx.commit(delayed.transactionId);
    expect(receipt.queueOffset).toBe(-1);
    await waitFor(() => got.length === 2, { what: 'both delivered' });
    const late = got.find((m) => m.msgId === delayed.msgId)!;
    // the delay counts from the commit: appended no earlier than level 1 after the outcome was recorded (the
    // store's clock; 1 ms for storedAt being its transaction's start, a little before the due check)
    const [{ resolved_at: committedAt }] = await queryStore<{ resolved_at: Date }>(
      db,
      'SELECT resolved_at FROM herald.resolved_transactions WHERE transaction_id = $1',
      [delayed.transactionId],
    );
    expect(late.storedAt.getTime() - committedAt.getTime()).toBeGreaterThanOrEqual(300 - 1);
    expect(late.queueId).toBe(plain.queueId);
  });

  it('check-back resolves a forgotten half through the checker: COMMIT and ROLLBACK', async () => {
    const broker = await openBroker();
    const topic = uniqueName('checked');
    await broker.admin.createTopic(topic, { queues: 1 });
    const group = uniqueName('checking');
    const local = new Set<string>();
    const asked: string[] = [];
    const checker = (m: MessageView & { transactionId: string }): TransactionResolution => {
      asked.push(m.transactionId);
      return local.has(m.body.toString()) ? 'COMMIT' : 'ROLLBACK';
    };
    const tx = broker.transactionProducer({ group, checker, transactionTimeout: 100 });
    await tx.start();
    local.add('has local record');
    const committed = await tx.sendHalf({ topic, body: 'has local record' });
    const rolledBack = await tx.sendHalf({ topic, body: 'no local record' });
    const got: string[] = [];
    const consumer = broker.pushConsumer({
      group: uniqueName('c'),
      subscriptions: { [topic]: '*' },
      consumeFromWhere: 'FIRST_OFFSET',
      handler: (m) => void got.push(m.body.toString()),
    });
    await consumer.start();
    await waitFor(async () => (await broker.admin.listHalfMessages({ group })).length === 0, { what: 'both halves resolved by check-back' });
    await waitFor(() => got.length === 1, { what: 'committed one delivered' });
    expect(got).toEqual(['has local record']);
    expect(asked.sort()).toEqual([committed.transactionId, rolledBack.transactionId].sort());
    await expect(tx.commit(rolledBack.transactionId)).rejects.toBeInstanceOf(TransactionAlreadyResolvedError);
    const stats = (await broker.admin.transactionStats()).find((s) => s.producerGroup === group);
    await waitFor(async () => ((await broker.admin.transactionStats()).find((s) => s.producerGroup === group)?.checksPerformed ?? 0) >= 2, {
      what: 'checks counted',
    });
    expect(stats).toMatchObject({ pending: 0, parked: 0 });
  });

  it('a half that stays UNKNOWN is parked after maxChecks, listed, and committed by hand', async () => {
    const broker = await openBroker();
    const topic = uniqueName('parked');
    await broker.admin.createTopic(topic, { queues: 1 });
    const group = uniqueName('undecided');
    let checks = 0;
    const tx = broker.transactionProducer({
      group,
      checker: () => {
        checks += 1;
        return 'UNKNOWN';
      },
      transactionTimeout: 50,
      checkInterval: 50,
      maxChecks: 3,
    });
    await tx.start();
    const half = await tx.sendHalf({ topic, body: 'undecided' });
    const parked = await waitFor(
      async () => {
        const list = await broker.admin.listHalfMessages({ state: 'parked', group });
        return list.length === 1 ? list : null;
      },
      { what: 'half parked' },
    );
    expect(parked[0]).toMatchObject({ transactionId: half.transactionId, msgId: half.msgId, checks: 3, state: 'parked' });
    expect(checks).toBe(3);
    expect(await broker.admin.listHalfMessages({ state: 'pending', group })).toEqual([]);
    await broker.admin.resolveHalf(half.transactionId, 'COMMIT');
    expect(await broker.admin.listHalfMessages({ group })).toEqual([]);
    expect((await broker.admin.queryMessage(half.msgId))?.message.body.toString()).toBe('undecided');
    await expect(broker.admin.resolveHalf(half.transactionId, 'ROLLBACK')).rejects.toBeInstanceOf(TransactionAlreadyResolvedError);
    await expect(broker.admin.resolveHalf('missing', 'COMMIT')).rejects.toBeInstanceOf(TransactionNotFoundError);
  });

  it('3 members and 1 000 due halves: each half checked exactly once', async () => {
    const brokers = await Promise.all([openBroker(), openBroker(), openBroker()]);
    const topic = uniqueName('many');
    await brokers[0].admin.createTopic(topic, { queues: 4 });
    const group = uniqueName('trio');
    const calls = new Map<string, number>();
    const sender = brokers[0].transactionProducer({ group, checker: () => 'UNKNOWN', transactionTimeout: 300 });
    const ids = await Promise.all(Array.from({ length: 1_000 }, (_, i) => sender.sendHalf({ topic, body: `h${i}` }).then((h) => h.transactionId)));
    const members = brokers.map((broker) =>
      broker.transactionProducer({
        group,
        transactionTimeout: 300,
        checkInterval: 600_000,
        checker: (m) => {
          calls.set(m.transactionId, (calls.get(m.transactionId) ?? 0) + 1);
          return 'UNKNOWN';
        },
      }),
    );
    for (const member of members) await member.start();
    await waitFor(() => calls.size === 1_000, { timeoutMs: 30_000, what: 'every half checked' });
    await waitFor(async () => (await brokers[0].admin.listHalfMessages({ group, limit: 2_000 })).every((h) => h.checks === 1), { what: 'checks recorded' });
    expect([...calls.values()].filter((n) => n !== 1)).toEqual([]);
    expect(new Set(calls.keys())).toEqual(new Set(ids));
  });

  it('with no member alive a half waits without spending checks, and is resolved when a member starts', async () => {
    const broker = await openBroker();
    const topic = uniqueName('orphan');
    await broker.admin.createTopic(topic, { queues: 1 });
    const group = uniqueName('absent');
    const sender = broker.transactionProducer({ group, checker: () => 'COMMIT', transactionTimeout: 20 });
    const half = await sender.sendHalf({ topic, body: 'waiting' });
    const [{ nextCheckAt }] = await broker.admin.listHalfMessages({ group });
    // long past its check time, on the store's clock the check-back claims by
    const longPast = new Date(nextCheckAt.getTime() + 200);
    await waitFor(async () => (await queryStore<{ past: boolean }>(db, 'SELECT clock_timestamp() > $1 AS past', [longPast]))[0].past, {
      what: 'half long past its check time',
    });
    expect((await broker.admin.listHalfMessages({ group }))[0]).toMatchObject({ transactionId: half.transactionId, checks: 0, state: 'pending', nextCheckAt });
    const member = broker.transactionProducer({ group, checker: () => 'COMMIT', transactionTimeout: 20 });
    await member.start();
    await waitFor(async () => (await broker.admin.listHalfMessages({ group })).length === 0, { what: 'resolved once a member is there' });
    expect((await broker.admin.queryMessage(half.msgId))?.message.queueOffset).toBe(0);
  });
});
