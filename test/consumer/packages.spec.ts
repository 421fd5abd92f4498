import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { npmFreeEnv } from '../support/npm-free-env';

/** What `npm pack` puts in each tarball, and what publint and arethetypeswrong say of each package. */
const ROOT = resolve(__dirname, '../..');
const PACKAGES = { '@herald/broker': 'libs/broker', '@herald/transaction': 'libs/transaction', '@herald/testing': 'libs/testing' } as const;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : [relative(ROOT, join(dir, entry.name))],
  );
}

function npx(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const env = npmFreeEnv();
  const result = spawnSync(join(ROOT, 'node_modules/.bin', args[0]), args.slice(1), {
    cwd,
    env: { ...env, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const packed = JSON.parse(
  spawnSync('npm', ['pack', '--dry-run', '--json', ...Object.keys(PACKAGES).map((name) => `--workspace=${name}`)], {
    cwd: ROOT,
    env: npmFreeEnv(),
    encoding: 'utf8',
  }).stdout,
) as { name: string; files: { path: string }[] }[];

describe.each(Object.entries(PACKAGES))('%s', (name, dir) => {
  it('packs only what a user needs: package.json, README, LICENSE, the compiled code with its types and maps, the migrations and functions', () => {
    const entry = packed.find((p) => p.name === name);
    expect(entry).toBeDefined();
    const paths = (entry?.files ?? []).map((f) => f.path).sort();
    // every module of src/ as JavaScript, declarations and source map; nothing else from dist/
    const modules = files(join(ROOT, dir, 'src'))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => relative(join(ROOT, dir, 'src'), join(ROOT, file)).replace(/\.ts$/, ''));
    expect(modules.length).toBeGreaterThan(3);
    const compiled = modules.flatMap((m) => [`dist/${m}.js`, `dist/${m}.js.map`, `dist/${m}.d.ts`]);
    const migrations = name === '@herald/testing' ? [] : readdirSync(join(ROOT, dir, 'migrations')).map((file) => `migrations/${file}`);
    if (name !== '@herald/testing') expect(migrations.length).toBeGreaterThan(1);
    // the broker's functions, applied after its migrations
    const sql = name === '@herald/broker' ? ['sql/functions.sql'] : [];
    expect(paths).toEqual(['LICENSE', 'README.md', 'package.json', ...compiled, ...migrations, ...sql].sort());
  });

  it('publint finds nothing to report', () => {
    const result = npx(['publint', '--strict', '.'], join(ROOT, dir));
    expect(result.stderr + result.stdout).toMatch(/All good!/);
    expect(result.status).toBe(0);
  });

  it('arethetypeswrong finds no problem for CommonJS and ES-module resolution, and bundlers', () => {
    const result = npx(['attw', '--pack', '.', '--format', 'json'], join(ROOT, dir));
    const report = JSON.parse(result.stdout) as { analysis: { packageName: string; problems: { resolutionKind?: string }[] } };
    expect(report.analysis.packageName).toBe(name);
    // node10 resolution knows no subpath exports (@herald/broker/internal); engines say Node 20.19+ anyway
    expect(report.analysis.problems.filter((problem) => problem.resolutionKind !== 'node10')).toEqual([]);
  });
});

it('the packages share one version, and @herald/transaction depends on exactly that @herald/broker', () => {
  const manifests = Object.values(PACKAGES).map((dir) => JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Record<string, unknown>);
  const versions = new Set(manifests.map((m) => m.version));
  expect(versions.size).toBe(1);
  const [version] = [...versions];
  expect(version).toMatch(/^0\.\d+\.\d+$/);
  const transaction = manifests[1] as { dependencies: Record<string, string>; peerDependencies: Record<string, string> };
  expect(transaction.dependencies['@herald/broker']).toBe(version);
  // the Nest side is the app's own: peers, never bundled copies
  for (const peer of ['@nestjs/common', '@nestjs/core', 'typeorm', 'nestjs-cls', '@nestjs-cls/transactional', 'reflect-metadata', 'rxjs'])
    expect(Object.keys(transaction.peerDependencies)).toContain(peer);
  for (const m of manifests) {
    expect(m).toMatchObject({ license: 'MIT', type: 'commonjs', sideEffects: false });
    // @herald/broker/internal: what Herald's own packages share (see libs/broker/src/internal.ts)
    expect(Object.keys(m.exports as object)).toEqual(m.name === '@herald/broker' ? ['.', './internal', './package.json'] : ['.', './package.json']);
  }
});
