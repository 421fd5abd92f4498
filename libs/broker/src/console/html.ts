/** HTML built by hand, escaped by construction: every interpolated value goes through `html`. */

const RAW = Symbol('raw html');

export interface Html {
  readonly [RAW]: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function raw(text: string): Html {
  return { [RAW]: text };
}

type Value = Html | string | number | boolean | null | undefined | Date | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (typeof value === 'string') return escapeHtml(value);
  if (typeof value === 'number' || typeof value === 'boolean') return escapeHtml(String(value));
  if (value instanceof Date) return escapeHtml(value.toISOString());
  if (Array.isArray(value)) return value.map((v: Value) => render(v)).join('');
  return (value as Html)[RAW];
}

/** A template whose interpolations are escaped unless they are Html already. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0];
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1];
  });
  return raw(out);
}

export function toText(value: Html): string {
  return value[RAW];
}

/** A relative link with query parameters (the console works under any base path). */
export function href(page: string, params: Record<string, string | number | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, String(value));
  const qs = query.toString();
  return qs === '' ? `./${page}` : `./${page}?${qs}`;
}

export function table<R>(rows: readonly R[], columns: [string, (row: R) => Value][], empty = 'nothing here'): Html {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table>
    <thead>
      <tr>
        ${columns.map(([header]) => html`<th>${header}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (row) =>
          html`<tr>
            ${columns.map(([, cell]) => html`<td>${cell(row)}</td>`)}
          </tr>`,
      )}
    </tbody>
  </table>`;
}

const STYLE = `
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 14px; }
body { margin: 0; background: #f6f7f9; color: #1d2330; }
header { background: #1d2330; color: #fff; padding: 0 24px; display: flex; align-items: center; gap: 24px; height: 48px; }
header b { font-size: 16px; letter-spacing: .02em; }
header nav a { color: #c9d1e0; text-decoration: none; margin-right: 16px; }
header nav a.on, header nav a:hover { color: #fff; }
header .who { margin-left: auto; color: #9aa5b8; font-size: 12px; }
main { padding: 20px 24px; max-width: 1280px; }
h1 { font-size: 20px; margin: 0 0 16px; } h2 { font-size: 15px; margin: 24px 0 8px; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #dde1e8; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #eceff3; font-variant-numeric: tabular-nums; vertical-align: top; }
th { background: #f0f2f6; font-weight: 600; font-size: 12px; text-transform: uppercase; color: #566077; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 12px; margin-bottom: 16px; }
.card { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 12px 14px; }
.card .n { font-size: 22px; font-weight: 600; } .card .l { color: #566077; font-size: 12px; }
.warn { color: #a4490b; } .bad { color: #b3261e; } .ok { color: #1b7f3b; } .empty { color: #778197; }
form.inline { display: inline; } form { margin: 8px 0; }
input, select, button { font: inherit; padding: 4px 8px; border: 1px solid #c3c9d5; border-radius: 4px; }
button { background: #2d5bd7; color: #fff; border-color: #2d5bd7; cursor: pointer; } button.danger { background: #b3261e; border-color: #b3261e; }
pre { background: #fff; border: 1px solid #dde1e8; padding: 10px; overflow: auto; max-height: 480px; }
.flash { background: #e7f3ea; border: 1px solid #b6dcbf; padding: 8px 12px; margin-bottom: 12px; border-radius: 4px; }
.flash.error { background: #fbeaea; border-color: #f0b9b5; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
`;

export const NAV: [page: string, label: string][] = [
  ['', 'Overview'],
  ['topics', 'Topics'],
  ['groups', 'Consumer groups'],
  ['transactions', 'Transactions'],
  ['messages', 'Messages'],
  ['audit', 'Audit log'],
];

/** The page frame: header with navigation (relative links), the user's role, and the body. */
export function page(title: string, current: string, who: string, body: Html, flash: { text: string; error: boolean } | null): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Herald</title>
        <style>
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <b>Herald</b>
          <nav>${NAV.map(([p, label]) => html`<a href="${p === '' ? './' : `./${p}`}" class="${p === current ? 'on' : ''}">${label}</a>`)}</nav>
          <span class="who">${who}</span>
        </header>
        <main>
          ${flash ? html`<div class="flash${flash.error ? ' error' : ''}">${flash.text}</div>` : ''}
          <h1>${title}</h1>
          ${body}
        </main>
      </body>
    </html>`;
}
