import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CONFIG_ENV } from '../apps/shared/src/service-config';

/** No Docker engine here: this keeps docker-compose.yml from drifting away from what the apps read. */
const ROOT = join(__dirname, '..');
const SERVICES = { order: 3001, inventory: 3002, logistics: 3003 } as const;

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const initFile = compose.services.postgres.volumes?.[0]?.split(':')[0] ?? '';
const initSql = readFileSync(join(ROOT, initFile), 'utf8');
/** database → owning role, and role → password, as the init script creates them. */
const owners = Object.fromEntries([...initSql.matchAll(/CREATE DATABASE (\w+) OWNER (\w+);/g)].map((m) => [m[1], m[2]]));
const passwords = Object.fromEntries([...initSql.matchAll(/CREATE ROLE (\w+) LOGIN PASSWORD '([^']+)';/g)].map((m) => [m[1], m[2]]));

describe('docker-compose.yml matches the apps', () => {
  it('has PostgreSQL with a health check, not published, and creates every database the services use, each owned by its own role', () => {
    const postgres = compose.services.postgres;
    expect(postgres.healthcheck?.test).toContain('pg_isready');
    // the services reach it on the compose network; nothing outside the host needs it
    expect(postgres.ports).toBeUndefined();
    for (const name of Object.keys(SERVICES)) {
      const env = compose.services[name].environment ?? {};
      for (const key of ['DATABASE_URL', 'BROKER_URL']) {
        const url = new URL(env[key]);
        const database = url.pathname.slice(1);
        expect(Object.keys(owners)).toContain(database);
        // the service logs in as the role that owns that database, with that role's password
        expect(url.username).toBe(owners[database]);
        expect(decodeURIComponent(url.password)).toBe(passwords[url.username]);
      }
    }
  });

  it('one role per database, each with its own password, none of them the superuser; no database open to PUBLIC', () => {
    const databases = Object.keys(owners);
    expect(databases).toHaveLength(4);
    expect(new Set(Object.values(owners)).size).toBe(databases.length);
    expect(new Set(Object.values(passwords)).size).toBe(Object.keys(passwords).length);
    expect(Object.keys(passwords).sort()).toEqual(Object.values(owners).sort());
    const superuser = compose.services.postgres.environment?.POSTGRES_USER;
    expect(Object.values(owners)).not.toContain(superuser);
    expect(Object.values(passwords)).not.toContain(compose.services.postgres.environment?.POSTGRES_PASSWORD);
    // plain login roles: no SUPERUSER, CREATEROLE or CREATEDB, and no later ALTER ROLE granting them
    for (const statement of initSql.match(/CREATE ROLE [^;]*;/g) ?? []) expect(statement).toMatch(/^CREATE ROLE \w+ LOGIN PASSWORD '[^']+';$/);
    expect(initSql).not.toMatch(/ALTER ROLE|GRANT/i);
    for (const database of databases) expect(initSql).toMatch(new RegExp(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC;`));
  });

  it.each(Object.entries(SERVICES))('%s: command, environment, ports, health check and start order', (name, port) => {
    const service = compose.services[name];
    // compiled JavaScript, no TypeScript hook: `node [--enable-source-maps] dist/apps/<name>/src/main.js`
    expect(service.command?.[0]).toBe('node');
    expect(service.command?.slice(1, -1).every((flag) => flag === '--enable-source-maps')).toBe(true);
    const entry = service.command?.at(-1) ?? '';
    expect(entry).toBe(`dist/apps/${name}/src/main.js`);
    const source = entry.replace(/^dist\//, '').replace(/\.js$/, '.ts');
    expect(existsSync(join(ROOT, source))).toBe(true);
    // the service reads its port from the default in main.ts or PORT
    expect(readFileSync(join(ROOT, source), 'utf8')).toContain(`readServiceConfig(${port})`);
    const env = service.environment ?? {};
    for (const key of Object.keys(env)) expect(CONFIG_ENV).toContain(key);
    expect(env.PORT).toBe(String(port));
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.BROKER_URL).toBe(compose.services.order.environment?.BROKER_URL);
    expect(new URL(env.DATABASE_URL).hostname).toBe('postgres');
    if (name !== 'order') expect(env.ORDER_URL).toBe(`http://order:${SERVICES.order}`);
    // published on the host's loopback only: the sample has no TLS and its admin endpoints are for the operator on the host
    expect(service.ports).toEqual([`127.0.0.1:${port}:${port}`]);
    // fault injection stays off in containers; the admin token, when given, comes from the operator's environment
    expect(Object.keys(env).filter((key) => key.startsWith('FAULT'))).toEqual([]);
    if (env.ADMIN_TOKEN !== undefined) expect(env.ADMIN_TOKEN).toMatch(/^\$\{\w+:-\}$/);
    expect(service.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/health`);
    expect(service.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(service.build).toBe('.');
  });

  it('each service database is its own, reached with its own role', () => {
    const urls = Object.keys(SERVICES).map((name) => new URL(compose.services[name].environment?.DATABASE_URL ?? ''));
    expect(new Set(urls.map((url) => url.pathname)).size).toBe(urls.length);
    const roles = urls.map((url) => url.username);
    expect(new Set(roles).size).toBe(roles.length);
    expect(roles).not.toContain(new URL(compose.services.order.environment?.BROKER_URL ?? '').username);
  });

  describe('the Dockerfile', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const stages = dockerfile.split(/^(?=FROM )/m).filter((stage) => stage.startsWith('FROM '));
    const runtime = stages.at(-1) ?? '';
    const build = stages.find((stage) => /^FROM \S+ AS build$/m.test(stage)) ?? '';

    it('is multi-stage: a build stage compiles the apps from the lockfile', () => {
      expect(stages.length).toBeGreaterThanOrEqual(2);
      for (const stage of stages) expect(Number(/^FROM node:(\d+)/.exec(stage)?.[1])).toBeGreaterThanOrEqual(22);
      expect(build).toMatch(/COPY package.json package-lock.json/);
      expect(build).toMatch(/^RUN npm ci\b/m);
      expect(build).toMatch(/^RUN npx tsc -b tsconfig.apps.json$/m);
    });

    it('runs compiled JavaScript with production dependencies only, as a non-root user, with no TypeScript hook', () => {
      expect(runtime).toMatch(/^RUN npm ci --omit=dev\b/m);
      expect(runtime).not.toMatch(/^RUN .*\b(tsc|build)\b/m);
      expect(dockerfile).not.toMatch(/swc-node|ts-node|tsx|--loader|--import/);
      const user = /^USER (\S+)$/m.exec(runtime)?.[1];
      expect(user).toBeDefined();
      expect(['root', '0']).not.toContain(user);
      const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)?.[1] ?? '[]') as string[];
      expect(cmd[0]).toBe('node');
      expect(cmd.at(-1)).toMatch(/^dist\/apps\/\w+\/src\/main\.js$/);
      // every compose service's entry point is copied from the build stage, with the packages' dist and migrations
      const copied = [...runtime.matchAll(/^COPY --from=build \/app\/(\S+) (\S+)$/gm)].map((m) => m[2]);
      for (const name of Object.keys(SERVICES)) expect(copied).toContain(`dist/apps/${name}`);
      for (const lib of ['broker', 'transaction']) for (const dir of ['dist', 'migrations']) expect(copied).toContain(`libs/${lib}/${dir}`);
      expect(copied).toContain('dist/apps/shared');
      expect(copied).toContain('libs/broker/sql');
    });
  });
});
