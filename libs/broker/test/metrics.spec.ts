import { Client } from 'pg';
import { OpenMetricsContentType, Registry } from 'prom-client';
import { IllegalStateError, InvalidOptionsError, MessageView } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, RecordingLogger, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

/** The value of one sample of the exposition text, or null when it is not there. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(match[3]);
  }
  return null;
}

describe('metrics (prom-client)', () => {
  it('counts sends, deliveries, retries and dead letters with RocketMQ names, and reads lag and DLQ size from the store', async () => {
    const registry = new Registry();
    const broker = await openBroker({ metrics: { registry, brokerState: true, stateCacheTtl: 0 } });
    const topic = uniqueName('metered');
    const group = uniqueName('metered-readers');
    await broker.admin.createTopic(topic, { queues: 2 });
    const producer = broker.producer({ group: 'p' });
    await producer.sendBatch([0, 1, 2, 3].map((i) => ({ topic, body: `m${i}`, tag: i === 3 ? 'poison' : 'ok' })));
    await producer.send({ topic, body: 'ordered', messageGroup: 'order-1' });

    // before anyone consumes: the group has no offsets yet, so no lag is reported for it
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      consumeFromWhere: 'FIRST_OFFSET',
      maxReconsumeTimes: 1,
      handler: (m: MessageView) => (m.tag === 'poison' ? 'RETRY' : 'SUCCESS'),
    });
    await consumer.start();
    await waitFor(async () => (await broker.admin.listDlq(group)).length === 1, { what: 'the poison message in the DLQ' });
    const text = await waitFor(
      async () => {
        const t = await broker.metrics();
        return sample(t, 'herald_consumer_lag_messages', { topic, consumer_group: group }) === 0 ? t : null;
      },
      { what: 'lag 0 for the group' },
    );

    expect(sample(text, 'herald_messages_in_total', { topic, message_type: 'normal' })).toBe(4);
    expect(sample(text, 'herald_messages_in_total', { topic, message_type: 'fifo' })).toBe(1);
    expect(sample(text, 'herald_throughput_in_total', { topic, message_type: 'normal' })).toBeGreaterThanOrEqual(4 * 2);
    expect(sample(text, 'herald_send_cost_time_count', { topic, invocation_status: 'success' })).toBe(2);
    // 5 first deliveries + 1 retry of the poison message (through %RETRY%<group>, folded)
    expect(sample(text, 'herald_messages_out_total', { topic, consumer_group: group, is_retry: 'false' })).toBe(5);
    expect(sample(text, 'herald_messages_out_total', { topic, consumer_group: group, is_retry: 'true' })).toBe(1);
    expect(sample(text, 'herald_process_time_count', { topic, consumer_group: group, invocation_status: 'failure' })).toBe(2);
    expect(sample(text, 'herald_process_time_count', { topic, consumer_group: group, invocation_status: 'success' })).toBe(4);
    expect(sample(text, 'herald_await_time_count', { topic, consumer_group: group })).toBe(6);
    expect(sample(text, 'herald_consumer_retries_total', { topic, consumer_group: group })).toBe(1);
    expect(sample(text, 'herald_send_to_dlq_messages_total', { topic, consumer_group: group })).toBe(1);
    expect(sample(text, 'herald_dlq_messages', { consumer_group: group })).toBe(1);
    expect(sample(text, 'herald_consumer_connections', { consumer_group: group })).toBe(1);
    expect(sample(text, 'herald_consumer_lag_messages', { topic: '%RETRY%', consumer_group: group, is_retry: 'true' })).toBe(0);
    expect(sample(text, 'herald_consumer_rebalances_total', { consumer_group: group })).toBeGreaterThanOrEqual(1);
    // bounded cardinality: no msgId, key, client id or per-group system topic ever becomes a label value
    expect(text).not.toContain(`%RETRY%${group}`);
    expect(text).not.toContain(`%DLQ%${group}`);
    expect(text).not.toMatch(/[0-9A-F]{32}/);
    expect(text).not.toContain(process.pid.toString() + '@');
    expect(broker.metricsContentType).toContain('text/plain');
  });

  it('lag counts what a group has still to consume, and its age', async () => {
    const registry = new Registry();
    const broker = await openBroker({ metrics: { registry, brokerState: true, stateCacheTtl: 0 } });
    const topic = uniqueName('lagging');
    const group = uniqueName('slow-readers');
    await broker.admin.createTopic(topic, { queues: 2 });
    const release: (() => void)[] = [];
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      concurrency: 1,
      // holds every handler until released: the offsets cannot move meanwhile
      handler: () => new Promise<void>((resolve) => release.push(resolve)),
    });
    await consumer.start();
    await waitFor(async () => sample(await broker.metrics(), 'herald_consumer_lag_messages', { topic, consumer_group: group }) === 0, {
      what: 'the group positioned, lag 0',
    });
    await broker.producer({ group: 'p' }).sendBatch(Array.from({ length: 7 }, (_, i) => ({ topic, body: `m${i}` })));
    const text = await waitFor(
      async () => {
        const t = await broker.metrics();
        return sample(t, 'herald_consumer_inflight_messages', { topic, consumer_group: group }) === 7 ? t : null;
      },
      { what: 'seven messages in flight' },
    );
    expect(sample(text, 'herald_consumer_lag_messages', { topic, consumer_group: group, is_retry: 'false' })).toBe(7);
    expect(sample(text, 'herald_consumer_ready_messages', { topic, consumer_group: group })).toBe(7);
    expect(sample(text, 'herald_consumer_lag_latency_milliseconds', { topic, consumer_group: group })).toBeGreaterThanOrEqual(0);
    for (;;) {
      const next = release.shift();
      if (next) next();
      else if (sample(await broker.metrics(), 'herald_consumer_inflight_messages', { topic, consumer_group: group }) === 0) break;
      else await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(async () => sample(await broker.metrics(), 'herald_consumer_lag_messages', { topic, consumer_group: group }) === 0, {
      what: 'lag back to 0 once committed',
    });
  });

  it('counts commits, rollbacks and check-backs by outcome, and how long halves waited', async () => {
    const registry = new Registry();
    const broker = await openBroker({ metrics: { registry, brokerState: true, stateCacheTtl: 0 } });
    const topic = uniqueName('tx-metered');
    const group = uniqueName('tx-metered-producers');
    await broker.admin.createTopic(topic, { queues: 1 });
    let answer: 'COMMIT' | 'UNKNOWN' | 'THROW' = 'UNKNOWN';
    const tx = broker.transactionProducer({
      group,
      transactionTimeout: 50,
      checkInterval: 50,
      checker: () => {
        if (answer === 'THROW') throw new Error('checker down');
        return answer;
      },
    });
    await tx.start();
    const committed = await tx.sendHalf({ topic, body: 'kept' });
    await tx.commit(committed.transactionId);
    const dropped = await tx.sendHalf({ topic, body: 'dropped' });
    await tx.rollback(dropped.transactionId);
    await tx.sendHalf({ topic, body: 'checked' });
    await waitFor(async () => (sample(await broker.metrics(), 'herald_check_backs_total', { producer_group: group, outcome: 'UNKNOWN' }) ?? 0) >= 1, {
      what: 'an UNKNOWN check-back',
    });
    const pending = await broker.metrics();
    expect(sample(pending, 'herald_half_messages', { topic, producer_group: group, state: 'pending' })).toBe(1);
    answer = 'THROW';
    await waitFor(async () => (sample(await broker.metrics(), 'herald_check_backs_total', { producer_group: group, outcome: 'error' }) ?? 0) >= 1, {
      what: 'a failed check-back',
    });
    answer = 'COMMIT';
    const text = await waitFor(
      async () => {
        const t = await broker.metrics();
        return sample(t, 'herald_commit_messages_total', { topic, producer_group: group }) === 2 ? t : null;
      },
      { what: 'the check-back commit' },
    );
    expect(sample(text, 'herald_check_backs_total', { producer_group: group, outcome: 'COMMIT' })).toBe(1);
    expect(sample(text, 'herald_rollback_messages_total', { topic, producer_group: group })).toBe(1);
    expect(sample(text, 'herald_messages_in_total', { topic, message_type: 'transaction' })).toBe(2);
    expect(sample(text, 'herald_finish_message_latency_seconds_count', { topic, producer_group: group })).toBe(2);
    // the check-back commit waited at least one transactionTimeout
    expect(sample(text, 'herald_finish_message_latency_seconds_sum', { topic, producer_group: group })).toBeGreaterThanOrEqual(0.05);
    expect(sample(text, 'herald_half_messages', { topic, producer_group: group })).toBeNull();
  });

  it('exports broker state from one instance only (the metrics lock), and another takes over when it closes', async () => {
    const registries = [new Registry(), new Registry(), new Registry()];
    const brokers = await Promise.all(registries.map((registry) => openBroker({ metrics: { registry, stateCacheTtl: 0 } })));
    const topic = uniqueName('shared-state');
    const group = uniqueName('shared-readers');
    await brokers[0].admin.createTopic(topic, { queues: 1 });
    await brokers[0].producer({ group: 'p' }).send({ topic, body: 'x' });
    const consumer = brokers[0].pushConsumer({ group, subscriptions: { [topic]: '*' }, consumeFromWhere: 'FIRST_OFFSET', handler: () => undefined });
    await consumer.start();
    const exporters = async (): Promise<number[]> => {
      const texts = await Promise.all(brokers.map((b) => b.metrics()));
      return texts.flatMap((t, i) => (sample(t, 'herald_consumer_lag_messages', { topic, consumer_group: group }) !== null ? [i] : []));
    };
    const [first] = await waitFor(
      async () => {
        const found = await exporters();
        return found.length === 1 ? found : null;
      },
      { what: 'exactly one exporter' },
    );
    // scraped again, the same one still exports and nobody else does
    expect(await exporters()).toEqual([first]);
    await consumer.shutdown();
    await brokers[first].close();
    const rest = brokers.filter((_, i) => i !== first);
    const taken = await waitFor(
      async () => {
        const texts = await Promise.all(rest.map((b) => b.metrics()));
        const found = texts.filter((t) => sample(t, 'herald_consumer_lag_messages', { topic, consumer_group: group }) !== null);
        return found.length === 1 ? found : null;
      },
      { what: 'another instance takes over' },
    );
    expect(taken).toHaveLength(1);
  });

  it('a stalled state query is given up after stateTimeout: the scrape answers with the last reading and logs why', async () => {
    const registry = new Registry();
    const logger = new RecordingLogger();
    const broker = await openBroker({ logger, metrics: { registry, brokerState: true, stateCacheTtl: 0, stateTimeout: 200 } });
    const topic = uniqueName('stalled-state');
    await broker.admin.createTopic(topic, { queues: 1 });
    const group = uniqueName('stalled-readers');
    const consumer = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler: () => undefined });
    await consumer.start();
    await waitFor(async () => sample(await broker.metrics(), 'herald_consumer_lag_messages', { topic, consumer_group: group }) === 0, {
      what: 'a first reading',
    });
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${broker.options.schema}.consumer_offsets IN ACCESS EXCLUSIVE MODE`);
      const text = await broker.metrics();
      expect(sample(text, 'herald_consumer_lag_messages', { topic, consumer_group: group })).toBe(0);
      expect(logger.lines.some((l) => l.message.startsWith('broker-state metrics not read') && String(l.fields?.error).includes('200 ms'))).toBe(true);
      // the counters and histograms do not wait for the store
      expect(sample(text, 'herald_consumer_rebalances_total', { consumer_group: group })).toBeGreaterThanOrEqual(1);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });

  it('counts the notification connection lost and back (pg_terminate_backend)', async () => {
    const registry = new Registry();
    const applicationName = uniqueName('metered-conn').replace(/-/g, '_');
    const broker = await openBroker({ applicationName, metrics: { registry, brokerState: false } });
    const killer = new Client({ connectionString: db.url });
    await killer.connect();
    try {
      const { rows } = await killer.query('SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1', [
        `${applicationName}:listener`,
      ]);
      expect(rows).toHaveLength(1);
    } finally {
      await killer.end();
    }
    const text = await waitFor(
      async () => {
        const t = await broker.metrics();
        return sample(t, 'herald_connection_events_total', { event: 'reconnected' }) === 1 ? t : null;
      },
      { what: 'the listener back' },
    );
    expect(sample(text, 'herald_connection_events_total', { event: 'lost' })).toBe(1);
  });

  it('takes a prefix (rocketmq_ reuses RocketMQ dashboards) and refuses a bad one; without metrics, metrics() is an IllegalStateError', async () => {
    const registry = new Registry();
    const broker = await openBroker({ metrics: { registry, prefix: 'rocketmq_', brokerState: false } });
    const topic = uniqueName('prefixed');
    await broker.admin.createTopic(topic, { queues: 1 });
    await broker.producer({ group: 'p' }).send({ topic, body: 'x' });
    const text = await broker.metrics();
    expect(sample(text, 'rocketmq_messages_in_total', { topic, message_type: 'normal' })).toBe(1);
    expect(text).not.toContain('herald_');
    expect(sample(text, 'rocketmq_consumer_lag_messages')).toBeNull();
    await expect(openBroker({ metrics: { prefix: 'bad prefix' } })).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(openBroker({ metrics: { brokerState: 'sometimes' as unknown as boolean } })).rejects.toMatchObject({ field: 'metrics.brokerState' });
    const plain = await openBroker();
    await expect(plain.metrics()).rejects.toBeInstanceOf(IllegalStateError);
  });

  it('formats as OpenMetrics on a registry set to it (what Prometheus negotiates first)', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const broker = await openBroker({ metrics: { registry, brokerState: true } });
    const topic = uniqueName('openmetrics');
    await broker.admin.createTopic(topic, { queues: 1 });
    await broker.producer({ group: 'p' }).send({ topic, body: 'x' });
    const text = await broker.metrics();
    expect(broker.metricsContentType).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    // OpenMetrics names a counter's family without `_total`, and its samples with it
    expect(text).toMatch(/^# TYPE herald_messages_in counter$/m);
    expect(sample(text, 'herald_messages_in_total', { topic, message_type: 'normal' })).toBe(1);
    expect(text).toMatch(/^# TYPE herald_send_cost_time histogram$/m);
    expect(sample(text, 'herald_send_cost_time_count', { topic, invocation_status: 'success' })).toBe(1);
    expect(text).toMatch(/^# TYPE herald_consumer_lag_messages gauge$/m);
    expect(text.trimEnd().endsWith('# EOF')).toBe(true);
  });
});
