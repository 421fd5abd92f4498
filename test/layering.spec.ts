import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The layering CONTRIBUTING.md describes, checked on the sources: SQL and row shapes live in
 * each package's `src/store/` and nowhere else.
 */
const ROOT = join(__dirname, '..');
const PACKAGES = ['libs/broker/src', 'libs/transaction/src'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The file without its comments, so prose about SELECT or LISTEN does not count. */
function code(path: string): string {
  return readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
}

/** String and template literals holding SQL: a statement keyword with what must follow it. */
const SQL = /['"`][^'"`]*\b(SELECT\s+\S|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|LISTEN\s|CREATE\s+(TABLE|INDEX|FUNCTION)|pg_notify)/;

const outsideStore = PACKAGES.flatMap((pkg) => sources(join(ROOT, pkg))).filter((path) => !path.includes('/src/store/'));

describe('layering', () => {
  it('finds files to check (the test would pass vacuously otherwise)', () => {
    expect(outsideStore.length).toBeGreaterThan(40);
  });

  it('SQL text appears only under src/store/', () => {
    const offenders = outsideStore.filter((path) => SQL.test(code(path))).map((path) => relative(ROOT, path));
    expect(offenders).toEqual([]);
  });

  it('row shapes (store/rows) are imported only inside src/store/', () => {
    const offenders = outsideStore.filter((path) => /from '[^']*store\/rows'/.test(code(path))).map((path) => relative(ROOT, path));
    expect(offenders).toEqual([]);
  });

  it('the SQL pattern recognises statements (so an empty result means something)', () => {
    expect(SQL.test("db.query('SELECT 1 FROM t')")).toBe(true);
    expect(SQL.test('`UPDATE half_messages SET checks = 1`')).toBe(true);
    expect(SQL.test("'LISTEN ' + channel")).toBe(true);
    expect(SQL.test("outcome === 'COMMIT'")).toBe(false);
  });
});
