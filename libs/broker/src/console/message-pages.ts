/** The pages about messages: search, detail (body, trace), and the audit log. */
import type { MessageView } from '../message';
import { HttpError, mayAct } from './console-request';
import { href, html, Html, table } from './html';
import { BODY_LIMIT, PageContext, Rendered, required } from './pages';

const MESSAGE_COLUMNS: [string, (m: MessageView) => Html | string | number | Date][] = [
  ['message', (m) => html`<a href="${href('message', { id: m.msgId })}"><code>${m.msgId}</code></a>`],
  ['topic', (m) => m.topic],
  ['queue', (m) => m.queueId],
  ['offset', (m) => m.queueOffset],
  ['tag', (m) => m.tag ?? '-'],
  ['keys', (m) => m.keys.join(', ')],
  ['stored', (m) => m.storedAt],
];

export async function messages(ctx: PageContext): Promise<Rendered> {
  const id = ctx.query.get('id') ?? '';
  const topic = ctx.query.get('topic') ?? '';
  const key = ctx.query.get('key') ?? '';
  const from = ctx.query.get('from') ?? '';
  const to = ctx.query.get('to') ?? '';
  let results: Html = html``;
  if (id !== '') {
    const found = await ctx.admin.queryMessage(id.trim().toUpperCase());
    results = found === null ? html`<p class="empty">no message ${id}</p>` : table([found.message], MESSAGE_COLUMNS);
  } else if (topic !== '' && key !== '') {
    results = table(await ctx.admin.queryMessagesByKey(topic, key, { limit: 200 }), MESSAGE_COLUMNS, 'no message with that key');
  } else if (topic !== '') {
    const page = await ctx.admin.queryMessagesByTime(topic, {
      ...(from !== '' ? { from: Date.parse(from) } : {}),
      ...(to !== '' ? { to: Date.parse(to) } : {}),
      limit: 50,
      ...(ctx.query.get('cursor') ? { cursor: ctx.query.get('cursor') as string } : {}),
    });
    results = html`${table(page.messages, MESSAGE_COLUMNS, 'no message stored in that time')}
    ${page.nextCursor !== null ? html`<p><a href="${href('messages', { topic, from: from || undefined, to: to || undefined, cursor: page.nextCursor })}">Next page</a></p>` : ''}`;
  }
  return {
    title: 'Messages',
    nav: 'messages',
    body: html`<form method="get" action="./messages"><input name="id" placeholder="msgId" value="${id}" size="34" /> <button>Find by msgId</button></form>
      <form method="get" action="./messages">
        <input name="topic" placeholder="topic" value="${topic}" /> <input name="key" placeholder="business key" value="${key}" />
        <input name="from" type="datetime-local" step="1" value="${from}" /> <input name="to" type="datetime-local" step="1" value="${to}" />
        <button>Search the topic</button> <span class="empty">(a key, or a time range; the last hour by default)</span>
      </form>
      ${results}`,
  };
}

function bodyView(ctx: PageContext, body: Buffer, view: string): Html {
  if (!mayAct(ctx.user.role, 'operator')) return html`<p class="empty">Bodies are shown to operators and admins only (${body.length} bytes).</p>`;
  const shown = body.subarray(0, BODY_LIMIT);
  const cut = body.length > BODY_LIMIT ? html`<p class="warn">The first ${BODY_LIMIT} of ${body.length} bytes.</p>` : '';
  if (view === 'hex')
    return html`${cut}
      <pre>${shown.toString('hex').replace(/(.{64})/g, '$1\n')}</pre>`;
  const text = shown.toString('utf8');
  if (view !== 'text') {
    try {
      return html`${cut}
        <pre>${JSON.stringify(JSON.parse(text), null, 2)}</pre>`;
    } catch {
      // not JSON: as text
    }
  }
  return html`${cut}
    <pre>${text}</pre>`;
}

export async function message(ctx: PageContext): Promise<Rendered> {
  const id = required(ctx, 'id');
  const found = await ctx.admin.queryMessage(id);
  if (found === null) throw new HttpError(404, `no message ${id}`);
  const { message: m, trace } = found;
  const view = ctx.query.get('view') ?? 'json';
  return {
    title: `Message ${m.msgId}`,
    nav: 'messages',
    body: html`${table([m], MESSAGE_COLUMNS.slice(1))}
      <h2>Properties</h2>
      ${table(
        Object.entries(m.properties),
        [
          ['name', ([k]) => k],
          ['value', ([, v]) => v],
        ],
        'none',
      )}
      <h2>
        Body (${m.body.length} bytes) · <a href="${href('message', { id, view: 'json' })}">JSON</a> ·
        <a href="${href('message', { id, view: 'text' })}">text</a> · <a href="${href('message', { id, view: 'hex' })}">hex</a>
      </h2>
      ${bodyView(ctx, m.body, view)}
      <h2>Delivery trace</h2>
      ${table(trace.stored, [
        ['stored copy', (c) => c.topic],
        ['queue', (c) => c.queueId],
        ['offset', (c) => c.queueOffset],
        ['stored', (c) => c.storedAt],
        ['attempt', (c) => c.reconsumeTimes + 1],
        ['error that caused it', (c) => (c.lastError === null ? '-' : html`<span class="bad">${c.lastError.type}</span>: ${c.lastError.message}`)],
      ])}
      ${table(
        trace.groups,
        [
          ['group', (g) => g.group],
          ['consumed', (g) => (g.consumed ? 'yes' : 'not yet')],
        ],
        'no group holds offsets on its queue',
      )}
      ${trace.deadLettered.length > 0 ? html`<p class="bad">Dead-lettered by ${trace.deadLettered.join(', ')}</p>` : ''}`,
  };
}

export async function audit(ctx: PageContext): Promise<Rendered> {
  const before = ctx.query.get('before');
  const entries = await ctx.admin.listAudit({ limit: 100, ...(before !== null && /^\d+$/.test(before) ? { beforeId: Number(before) } : {}) });
  const last = entries.at(-1);
  return {
    title: 'Audit log',
    nav: 'audit',
    body: html`${table(
      entries,
      [
        ['when', (e) => e.at],
        ['who', (e) => e.actor],
        ['what', (e) => e.action],
        ['on', (e) => e.target],
        ['details', (e) => html`<code>${JSON.stringify(e.details)}</code>`],
        ['outcome', (e) => html`<span class="${e.outcome === 'ok' ? 'ok' : 'bad'}">${e.outcome}</span>`],
      ],
      'nothing changed yet',
    )}
    ${entries.length === 100 && last ? html`<p><a href="${href('audit', { before: last.id })}">Older</a></p>` : ''}`,
  };
}
