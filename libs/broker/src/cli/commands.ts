/** The command tree: topics, groups and messages here; offsets, dead letters and transactions in operations-commands.ts; schema and console in schema-commands.ts. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { confirm, NotFoundError, parseCount, parseTime, printRows, printValue, UsageError, withBroker } from './cli-context';
import { admin, MESSAGE_COLUMNS, messageRecord, printable, repeatable } from './command-helpers';
import { dlqCommands, offsetCommands, txCommands } from './operations-commands';
import { consoleCommand, schemaCommands } from './schema-commands';

function topicCommands(program: Command): void {
  const topic = program.command('topic').description('topics and their queues');
  topic
    .command('list')
    .description('every topic (the broker’s %RETRY% and %DLQ% ones too) with its queues and stored messages')
    .action((_options, command: Command) =>
      admin(command, async (a, g) => {
        const topics = await a.listTopics();
        printRows(
          g,
          topics.map((t) => ({ name: t.name, queues: t.queues.length, messages: t.queues.reduce((n, q) => n + q.maxOffset - q.minOffset, 0) })),
          [
            ['TOPIC', (t) => t.name],
            ['QUEUES', (t) => t.queues],
            ['MESSAGES', (t) => t.messages],
          ],
        );
      }),
    );
  topic
    .command('create <name>')
    .description('create a topic (the same queue count again is a no-op)')
    .option('--queues <n>', 'queue count (default: the broker’s defaultTopicQueues, 8)')
    .action((name: string, options: { queues?: string }, command: Command) =>
      admin(command, async (a, g) => {
        await a.createTopic(name, options.queues === undefined ? {} : { queues: parseCount(options.queues, '--queues', 1, 1024) });
        printValue(g, { created: name }, () => `created topic ${name}`);
      }),
    );
  topic
    .command('delete <name>')
    .description('delete a topic with its messages, pending retries and offsets')
    .action((name: string, _options, command: Command) =>
      admin(command, async (a, g) => {
        await confirm(g, `Delete topic "${name}" with all its messages?`);
        const existed = await a.deleteTopic(name);
        if (!existed) throw new NotFoundError(`topic "${name}" does not exist`);
        printValue(g, { deleted: name }, () => `deleted topic ${name}`);
      }),
    );
  topic
    .command('status <name>')
    .description('per queue: min and max offset; and the messages in per second')
    .action((name: string, _options, command: Command) =>
      admin(command, async (a, g) => {
        const found = (await a.listTopics()).find((t) => t.name === name);
        if (!found) throw new NotFoundError(`topic "${name}" does not exist`);
        const rate = (await a.rates()).topics.find((t) => t.topic === name)?.inPerSecond ?? 'unknown';
        if (g.json === true || g.ndjson === true) {
          printValue(g, { ...found, inPerSecond: rate }, () => '');
          return;
        }
        printRows(g, found.queues, [
          ['QID', (q) => q.queueId],
          ['MIN_OFFSET', (q) => q.minOffset],
          ['MAX_OFFSET', (q) => q.maxOffset],
          ['MESSAGES', (q) => q.maxOffset - q.minOffset],
        ]);
        process.stdout.write(`In TPS: ${typeof rate === 'number' ? rate.toFixed(2) : rate}\n`);
      }),
    );
}

function groupCommands(program: Command): void {
  const group = program.command('group').description('consumer groups');
  group
    .command('list')
    .description('every consumer group: model, live members, topics, lag, dead letters')
    .action((_options, command: Command) =>
      admin(command, async (a, g) =>
        printRows(g, await a.listGroups(), [
          ['GROUP', (r) => r.group],
          ['MODEL', (r) => r.model],
          ['MEMBERS', (r) => r.liveMembers],
          ['TOPICS', (r) => r.topics.join(',') || null],
          ['LAG', (r) => r.lag],
          ['DLQ', (r) => r.deadLetters],
        ]),
      ),
    );
  group
    .command('progress <group>')
    .description("mqadmin's consumerProgress: per queue broker and consumer offset, holder, diff (lag), with lag age; then TPS and the total diff")
    .action((name: string, _options, command: Command) =>
      admin(command, async (a, g) => {
        const progress = await a.groupProgress(name);
        const rates = (await a.rates()).groups.filter((r) => r.group === name);
        const tps = rates.reduce<number | 'unknown'>((sum, r) => (sum === 'unknown' || r.outPerSecond === 'unknown' ? 'unknown' : sum + r.outPerSecond), 0);
        const diffTotal = progress.reduce((sum, q) => sum + (q.lag === 'unknown' ? 0 : q.lag), 0);
        if (g.json === true || g.ndjson === true) {
          printValue(g, { group: name, queues: progress, consumeTps: tps, diffTotal }, () => '');
          return;
        }
        printRows(g, progress, [
          ['#TOPIC', (q) => q.topic],
          ['#QID', (q) => q.queueId],
          ['#BROKER_OFFSET', (q) => q.brokerOffset],
          ['#CONSUMER_OFFSET', (q) => q.consumerOffset],
          ['#CLIENT', (q) => q.clientId],
          ['#DIFF', (q) => (q.lag === 'unknown' ? `unknown (${q.lagUnknownReason})` : q.lag)],
          ['#LAG_AGE_MS', (q) => q.lagAgeMs],
        ]);
        process.stdout.write(`\nConsume TPS: ${typeof tps === 'number' ? tps.toFixed(2) : tps}\nDiff Total: ${diffTotal}\n`);
      }),
    );
  group
    .command('members <group>')
    .description('live members and the queues each holds')
    .action((name: string, _options, command: Command) =>
      admin(command, async (a, g) =>
        printRows(g, await a.groupMembers(name), [
          ['CLIENT_ID', (m) => m.clientId],
          ['HOST', (m) => m.host],
          ['PID', (m) => m.pid],
          ['STARTED_AT', (m) => m.startedAt],
          ['HEARTBEAT_AT', (m) => m.heartbeatAt],
          ['QUEUES', (m) => m.queues.map((q) => `${q.topic}:${q.queueId}`).join(',') || null],
        ]),
      ),
    );
  group
    .command('delete <group>')
    .description('delete a group with its offsets and its retry and dead-letter topics (refused while members live)')
    .action((name: string, _options, command: Command) =>
      admin(command, async (a, g) => {
        await confirm(g, `Delete consumer group "${name}" with its offsets and dead letters?`);
        if (!(await a.deleteGroup(name))) throw new NotFoundError(`consumer group "${name}" does not exist`);
        printValue(g, { deleted: name }, () => `deleted group ${name}`);
      }),
    );
}
function messageCommands(program: Command): void {
  const msg = program.command('msg').description('find, send and follow messages');
  msg
    .command('get <msgId>')
    .description('a message by msgId, with its delivery trace (copies, groups, retries, dead letters)')
    .action((msgId: string, _options, command: Command) =>
      admin(command, async (a, g) => {
        const found = await a.queryMessage(msgId);
        if (!found) throw new NotFoundError(`message ${msgId} is not stored`);
        const record = { ...messageRecord(found.message), trace: found.trace };
        printValue(g, record, () => JSON.stringify(record, null, 2));
      }),
    );
  msg
    .command('by-key <topic> <key>')
    .description("a topic's messages carrying a business key, with their retry and DLQ copies")
    .option('--limit <n>', 'at most this many', '64')
    .action((topic: string, key: string, options: { limit: string }, command: Command) =>
      admin(command, async (a, g) =>
        printRows(g, await a.queryMessagesByKey(topic, key, { limit: parseCount(options.limit, '--limit', 1, 10_000) }), MESSAGE_COLUMNS),
      ),
    );
  msg
    .command('by-time <topic>')
    .description("a topic's messages stored in a time range, oldest first, a page at a time")
    .option('--from <time>', 'ISO time, epoch ms or relative (-15m)', '-1h')
    .option('--to <time>', 'ISO time, epoch ms or relative; default now')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'the next page: the cursor the previous page printed')
    .action((topic: string, options: { from: string; to?: string; limit: string; cursor?: string }, command: Command) =>
      admin(command, async (a, g) => {
        const page = await a.queryMessagesByTime(topic, {
          from: parseTime(options.from, '--from'),
          ...(options.to !== undefined ? { to: parseTime(options.to, '--to') } : {}),
          limit: parseCount(options.limit, '--limit', 1, 1_000),
          ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
        });
        if (g.json === true) {
          printValue(g, { messages: page.messages.map(messageRecord), nextCursor: page.nextCursor }, () => '');
          return;
        }
        if (g.ndjson === true) {
          for (const m of page.messages) process.stdout.write(`${JSON.stringify(messageRecord(m))}\n`);
          return;
        }
        printRows(g, page.messages, MESSAGE_COLUMNS);
        if (page.nextCursor !== null) process.stdout.write(`next page: --cursor ${page.nextCursor}\n`);
      }),
    );
  msg
    .command('send <topic>')
    .description('send one message (body from --body, --body-file, or standard input)')
    .option('--body <text>', 'the body as text')
    .option('--body-file <path>', 'the body from a file, as bytes')
    .option('--tag <tag>', 'tag')
    .option('--key <key>', 'business key (repeatable)', repeatable)
    .option('--property <name=value>', 'user property (repeatable)', repeatable)
    .option('--message-group <group>', 'FIFO message group')
    .option('--delay <ms>', 'deliver after this many ms')
    .action(
      (
        topic: string,
        options: { body?: string; bodyFile?: string; tag?: string; key?: string[]; property?: string[]; messageGroup?: string; delay?: string },
        command: Command,
      ) =>
        admin(command, async (_a, g) => {
          if (options.body !== undefined && options.bodyFile !== undefined) throw new UsageError('give --body or --body-file, not both');
          const body =
            options.body !== undefined
              ? Buffer.from(options.body)
              : options.bodyFile !== undefined
                ? readFileSync(options.bodyFile)
                : readFileSync(process.stdin.fd);
          const properties: Record<string, string> = {};
          for (const pair of options.property ?? []) {
            const at = pair.indexOf('=');
            if (at <= 0) throw new UsageError(`--property must be name=value; got "${pair}"`);
            properties[pair.slice(0, at)] = pair.slice(at + 1);
          }
          const receipt = await withBroker(g, (broker) =>
            broker.producer({ group: 'herald-cli' }).send({
              topic,
              body,
              ...(options.tag !== undefined ? { tag: options.tag } : {}),
              ...(options.key !== undefined ? { keys: options.key } : {}),
              ...(options.messageGroup !== undefined ? { messageGroup: options.messageGroup } : {}),
              ...(Object.keys(properties).length > 0 ? { properties } : {}),
              ...(options.delay !== undefined ? { delayMs: parseCount(options.delay, '--delay', 1, 365 * 86_400_000) } : {}),
            }),
          );
          printValue(g, receipt, () => `sent ${receipt.msgId} to ${receipt.topic} queue ${receipt.queueId} offset ${receipt.queueOffset}`);
        }),
    );
  msg
    .command('tail <topic>')
    .description('print messages as they are stored (from now, or --from), until Ctrl-C or --count')
    .option('--from <time>', 'start here instead of now (ISO time, epoch ms or relative)')
    .option('--count <n>', 'stop after this many messages')
    .option('--interval <ms>', 'how often to look, ms', '500')
    .action((topic: string, options: { from?: string; count?: string; interval: string }, command: Command) =>
      admin(command, async (a, g) => {
        const limit = options.count === undefined ? Number.POSITIVE_INFINITY : parseCount(options.count, '--count');
        const interval = parseCount(options.interval, '--interval', 50, 60_000);
        const from = options.from === undefined ? Date.now() : parseTime(options.from, '--from');
        let cursor: string | undefined;
        let printed = 0;
        let stopped = false;
        const stop = (): void => {
          stopped = true;
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          while (!stopped && printed < limit) {
            const page = await a.queryMessagesByTime(topic, { from, to: Date.now() + 60_000, limit: 200, ...(cursor !== undefined ? { cursor } : {}) });
            for (const m of page.messages.slice(0, limit - printed)) {
              const record = messageRecord(m);
              process.stdout.write(
                g.json === true || g.ndjson === true
                  ? `${JSON.stringify(record)}\n`
                  : `${m.storedAt.toISOString()}  ${m.msgId}  ${m.tag ?? '-'}  ${printable(m.body) ? m.body.toString('utf8') : `base64:${m.body.toString('base64')}`}\n`,
              );
              printed += 1;
            }
            // after the last message seen: the next look starts there, whatever arrived meanwhile
            cursor = page.endCursor ?? cursor;
            if (page.messages.length < 200) await new Promise((resolve) => setTimeout(resolve, interval));
          }
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      }),
    );
}
export function buildCommands(program: Command): void {
  topicCommands(program);
  groupCommands(program);
  messageCommands(program);
  offsetCommands(program);
  dlqCommands(program);
  txCommands(program);
  schemaCommands(program);
  consoleCommand(program);
}
