import type { Admin } from '../admin/admin';
import { ConsoleUser, HttpError, mayAct } from './console-request';
import { href, html, Html, table } from './html';

export interface PageContext {
  admin: Admin;
  user: ConsoleUser;
  query: URLSearchParams;
  csrf: string;
  readOnly: boolean;
}

export interface Rendered {
  title: string;
  nav: string;
  body: Html;
}

/** Bodies are shown to operators and admins only, and at most this much of them. */
export const BODY_LIMIT = 64 * 1024;

export const can = (ctx: PageContext, role: 'operator' | 'admin'): boolean => !ctx.readOnly && mayAct(ctx.user.role, role);

export const csrfField = (ctx: PageContext): Html => html`<input type="hidden" name="_csrf" value="${ctx.csrf}" />`;

const rate = (value: number | 'unknown'): string => (value === 'unknown' ? 'unknown' : value.toFixed(1));

const age = (ms: number | null): string => {
  if (ms === null) return '-';
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
};

export function required(ctx: PageContext, name: string): string {
  const value = ctx.query.get(name);
  if (value === null || value === '') throw new HttpError(400, `the page needs ?${name}=`);
  return value;
}

export async function overview(ctx: PageContext): Promise<Rendered> {
  const [groups, stats, rates, parked] = await Promise.all([
    ctx.admin.listGroups(),
    ctx.admin.transactionStats(),
    ctx.admin.rates(),
    ctx.admin.listHalfMessages({ state: 'parked', limit: 20 }),
  ]);
  const lag = groups.reduce((n, g) => n + (g.lag === 'unknown' ? 0 : g.lag), 0);
  const dlq = groups.reduce((n, g) => n + g.deadLetters, 0);
  const inRate = rates.topics.reduce((n, t) => n + (t.inPerSecond === 'unknown' ? 0 : t.inPerSecond), 0);
  const outRate = rates.groups.reduce((n, g) => n + (g.outPerSecond === 'unknown' ? 0 : g.outPerSecond), 0);
  const card = (label: string, value: string | number, tone = ''): Html =>
    html`<div class="card">
      <div class="n ${tone}">${value}</div>
      <div class="l">${label}</div>
    </div>`;
  return {
    title: 'Overview',
    nav: '',
    body: html`<div class="cards">
        ${card('messages waiting (lag)', lag, lag > 0 ? 'warn' : 'ok')} ${card('dead letters', dlq, dlq > 0 ? 'bad' : 'ok')}
        ${card(
          'pending half messages',
          stats.reduce((n, s) => n + s.pending, 0),
        )}
        ${card('parked half messages', parked.length, parked.length > 0 ? 'bad' : 'ok')} ${card('in, msg/s (last minute)', inRate.toFixed(1))}
        ${card('out, msg/s (last minute)', outRate.toFixed(1))}
      </div>
      <h2>Consumer groups</h2>
      ${table(groups, [
        ['group', (g) => html`<a href="${href('group', { name: g.group })}">${g.group}</a>`],
        ['members', (g) => html`<span class="${g.liveMembers === 0 ? 'warn' : ''}">${g.liveMembers}</span>`],
        ['lag', (g) => (g.lag === 'unknown' ? html`<span class="warn" title="${g.lagUnknownReason ?? ''}">unknown</span>` : g.lag)],
        ['dead letters', (g) => (g.deadLetters > 0 ? html`<a class="bad" href="${href('dlq', { group: g.group })}">${g.deadLetters}</a>` : 0)],
      ])}
      <h2>Parked half messages</h2>
      ${table(
        parked,
        [
          ['transaction', (h) => h.transactionId],
          ['producer group', (h) => h.producerGroup],
          ['topic', (h) => h.topic],
          ['checks', (h) => h.checks],
          ['since', (h) => h.createdAt],
        ],
        'none: every transaction resolved or still being checked',
      )}`,
  };
}

export async function topics(ctx: PageContext): Promise<Rendered> {
  const [list, rates] = await Promise.all([ctx.admin.listTopics(), ctx.admin.rates()]);
  const inRate = new Map(rates.topics.map((t) => [t.topic, t.inPerSecond]));
  return {
    title: 'Topics',
    nav: 'topics',
    body: html`${
      can(ctx, 'admin')
        ? html`<form method="post" action="./create-topic">
            ${csrfField(ctx)}<input name="name" placeholder="topic name" required /> <input name="queues" type="number" min="1" max="1024" value="8" />
            <button>Create topic</button>
          </form>`
        : ''
    }
    ${table(list, [
      ['topic', (t) => t.name],
      ['queues', (t) => t.queues.length],
      ['messages', (t) => t.queues.reduce((n, q) => n + q.maxOffset - q.minOffset, 0)],
      ['per queue (min–max offset)', (t) => t.queues.map((q) => `${q.queueId}: ${q.minOffset}–${q.maxOffset}`).join(', ')],
      ['in msg/s', (t) => rate(inRate.get(t.name) ?? 'unknown')],
      [
        '',
        (t) =>
          can(ctx, 'admin') && !t.name.startsWith('%')
            ? html`<form class="inline" method="post" action="./delete-topic">
                ${csrfField(ctx)}<input type="hidden" name="name" value="${t.name}" /><input name="confirm" placeholder="type ${t.name} to delete" required />
                <button class="danger">Delete</button>
              </form>`
            : '',
      ],
    ])}`,
  };
}

export async function groups(ctx: PageContext): Promise<Rendered> {
  const list = await ctx.admin.listGroups();
  return {
    title: 'Consumer groups',
    nav: 'groups',
    body: table(list, [
      ['group', (g) => html`<a href="${href('group', { name: g.group })}">${g.group}</a>`],
      ['model', (g) => g.model],
      ['members', (g) => g.liveMembers],
      ['topics', (g) => g.topics.join(', ')],
      ['lag', (g) => (g.lag === 'unknown' ? `unknown (${g.lagUnknownReason ?? ''})` : g.lag)],
      ['dead letters', (g) => html`<a href="${href('dlq', { group: g.group })}">${g.deadLetters}</a>`],
    ]),
  };
}

export async function group(ctx: PageContext): Promise<Rendered> {
  const name = required(ctx, 'name');
  const [progress, members, rates] = await Promise.all([ctx.admin.groupProgress(name), ctx.admin.groupMembers(name), ctx.admin.rates()]);
  const topicsOf = [...new Set(progress.map((q) => q.topic).filter((t) => !t.startsWith('%')))];
  const preview = ctx.query.get('preview');
  let previewBlock: Html = html``;
  if (preview !== null && can(ctx, 'operator')) {
    const topic = required(ctx, 'topic');
    const mode = ctx.query.get('mode') ?? 'latest';
    const to = mode === 'time' ? Date.parse(required(ctx, 'time')) : 'latest';
    if (typeof to === 'number' && Number.isNaN(to)) throw new HttpError(400, 'time must be a date and time');
    const plan = await ctx.admin.resetOffset(name, topic, to, { dryRun: true });
    previewBlock = html`<h2>Preview: reset ${name} on ${topic} to ${mode === 'time' ? new Date(to).toISOString() : 'the latest offsets'}</h2>
      ${table(plan.queues, [
        ['queue', (q) => q.queueId],
        ['from', (q) => q.from],
        ['to', (q) => q.to],
        ['skipped', (q) => q.skipped],
        ['replayed', (q) => q.replayed],
      ])}
      <form method="post" action="./reset">
        ${csrfField(ctx)} <input type="hidden" name="group" value="${name}" /><input type="hidden" name="topic" value="${topic}" />
        <input type="hidden" name="mode" value="${mode}" /><input type="hidden" name="time" value="${ctx.query.get('time') ?? ''}" />
        <input name="confirm" placeholder="type ${name} to apply" required /> <button class="danger">Apply the reset</button>
      </form>`;
  }
  return {
    title: `Group ${name}`,
    nav: 'groups',
    body: html`<p><a href="${href('dlq', { group: name })}">Dead letters</a></p>
      ${table(progress, [
        ['topic', (q) => q.topic],
        ['queue', (q) => q.queueId],
        ['broker offset', (q) => q.brokerOffset],
        ['consumer offset', (q) => q.consumerOffset],
        ['lag', (q) => (q.lag === 'unknown' ? html`<span class="warn">unknown: ${q.lagUnknownReason ?? ''}</span>` : q.lag)],
        ['lag age', (q) => age(q.lagAgeMs)],
        ['member', (q) => q.clientId],
      ])}
      <h2>Out, msg/s (last minute)</h2>
      ${table(
        rates.groups.filter((r) => r.group === name),
        [
          ['topic', (r) => r.topic],
          ['out msg/s', (r) => rate(r.outPerSecond)],
        ],
        'no samples yet',
      )}
      <h2>Members</h2>
      ${table(
        members,
        [
          ['client id', (m) => m.clientId],
          ['host', (m) => m.host],
          ['pid', (m) => m.pid],
          ['heartbeat', (m) => m.heartbeatAt],
          ['queues', (m) => m.queues.map((q) => `${q.topic}:${q.queueId}`).join(', ')],
        ],
        'no live member: offsets stay where they are until one starts',
      )}
      ${
        can(ctx, 'operator') && topicsOf.length > 0
          ? html`<h2>Reset offsets</h2>
              <form method="get" action="./group">
                <input type="hidden" name="name" value="${name}" /><input type="hidden" name="preview" value="1" />
                <select name="topic">
                  ${topicsOf.map((t) => html`<option>${t}</option>`)}
                </select>
                <select name="mode">
                  <option value="latest">to the latest (skip the backlog)</option>
                  <option value="time">to a time</option>
                </select>
                <input name="time" type="datetime-local" step="1" /> <button>Preview</button>
              </form>`
          : ''
      }
      ${previewBlock}
      ${
        can(ctx, 'admin')
          ? html`<h2>Delete</h2>
              <form method="post" action="./delete-group">
                ${csrfField(ctx)}<input type="hidden" name="group" value="${name}" /><input name="confirm" placeholder="type ${name} to delete" required />
                <button class="danger">Delete the group</button>
              </form>`
          : ''
      }`,
  };
}

export async function dlq(ctx: PageContext): Promise<Rendered> {
  const name = required(ctx, 'group');
  const letters = await ctx.admin.listDlq(name, { limit: 500 });
  const operator = can(ctx, 'operator');
  return {
    title: `Dead letters of ${name}`,
    nav: 'groups',
    body: html`<p><a href="${href('dlq-export', { group: name })}">Export all as NDJSON</a></p>
      <form method="post" action="./resend">
        ${csrfField(ctx)}<input type="hidden" name="group" value="${name}" />
        ${table(
          letters,
          [
            ['', (d) => (operator ? html`<input type="checkbox" name="msgId" value="${d.msgId}" aria-label="select ${d.msgId}" />` : '')],
            ['message', (d) => html`<a href="${href('message', { id: d.msgId })}"><code>${d.msgId}</code></a>`],
            ['topic', (d) => d.topic],
            ['attempts', (d) => d.reconsumeTimes + 1],
            ['stored', (d) => d.storedAt],
            ['last error', (d) => (d.lastError === null ? '-' : html`<span class="bad">${d.lastError.type}</span>: ${d.lastError.message}`)],
          ],
          'no dead letters',
        )}
        ${operator && letters.length > 0 ? html`<p><button>Resend selected</button> <button name="all" value="1">Resend all</button></p>` : ''}
      </form>
      ${can(ctx, 'admin') && letters.length > 0 ? html`<form method="post" action="./purge">${csrfField(ctx)}<input type="hidden" name="group" value="${name}" /><input name="confirm" placeholder="type ${name} to purge" required /> <button class="danger">Purge all dead letters</button></form>` : ''}`,
  };
}

export async function transactions(ctx: PageContext): Promise<Rendered> {
  const [stats, halves] = await Promise.all([ctx.admin.transactionStats(), ctx.admin.listHalfMessages({ limit: 500 })]);
  const now = Date.now();
  return {
    title: 'Transactions',
    nav: 'transactions',
    body: html`${table(
        stats,
        [
          ['producer group', (s) => s.producerGroup],
          ['pending', (s) => s.pending],
          ['parked', (s) => html`<span class="${s.parked > 0 ? 'bad' : ''}">${s.parked}</span>`],
          ['oldest pending', (s) => age(s.oldestPendingAgeMs)],
          ['checks', (s) => s.checksPerformed],
          ['members', (s) => s.liveMembers],
        ],
        'no producer groups',
      )}
      <h2>Half messages</h2>
      ${table(
        halves,
        [
          ['transaction', (h) => html`<code>${h.transactionId}</code>`],
          ['group', (h) => h.producerGroup],
          ['topic', (h) => h.topic],
          ['state', (h) => html`<span class="${h.state === 'parked' ? 'bad' : ''}">${h.state}</span>`],
          ['age', (h) => age(now - h.createdAt.getTime())],
          ['checks', (h) => h.checks],
          [
            '',
            (h) =>
              can(ctx, 'operator') && h.state === 'parked'
                ? html`<form class="inline" method="post" action="./resolve">
                      ${csrfField(ctx)}<input type="hidden" name="transactionId" value="${h.transactionId}" />
                      <select name="outcome">
                        <option>COMMIT</option>
                        <option>ROLLBACK</option>
                      </select>
                      <input name="confirm" placeholder="type the outcome to confirm" required /> <button class="danger">Resolve</button>
                    </form>
                    <form class="inline" method="post" action="./recheck">
                      ${csrfField(ctx)}<input type="hidden" name="transactionId" value="${h.transactionId}" /> <button>Re-check</button>
                    </form>`
                : '',
          ],
        ],
        'no open half messages',
      )}`,
  };
}
