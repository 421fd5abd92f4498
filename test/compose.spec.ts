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

describe('docker-compose.yml matches the apps', () => {
  it('has PostgreSQL with a health check, and creates every database the services use', () => {
    const postgres = compose.services.postgres;
    expect(postgres.healthcheck?.test).toContain('pg_isready');
    const initFile = postgres.volumes?.[0]?.split(':')[0] ?? '';
    const created = [...readFileSync(join(ROOT, initFile), 'utf8').matchAll(/CREATE DATABASE (\w+)/g)].map((m) => m[1]);
    for (const name of Object.keys(SERVICES)) {
      const env = compose.services[name].environment ?? {};
      for (const key of ['DATABASE_URL', 'BROKER_URL']) expect(created).toContain(new URL(env[key]).pathname.slice(1));
    }
  });

  it.each(Object.entries(SERVICES))('%s: command, environment, ports, health check and start order', (name, port) => {
    const service = compose.services[name];
    const entry = service.command?.at(-1) ?? '';
    expect(entry).toBe(`apps/${name}/src/main.ts`);
    expect(existsSync(join(ROOT, entry))).toBe(true);
    // the service reads its port from the default in main.ts or PORT
    expect(readFileSync(join(ROOT, entry), 'utf8')).toContain(`readServiceConfig(${port})`);
    const env = service.environment ?? {};
    for (const key of Object.keys(env)) expect(CONFIG_ENV).toContain(key);
    expect(env.PORT).toBe(String(port));
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.BROKER_URL).toBe(compose.services.order.environment?.BROKER_URL);
    expect(new URL(env.DATABASE_URL).hostname).toBe('postgres');
    if (name !== 'order') expect(env.ORDER_URL).toBe(`http://order:${SERVICES.order}`);
    expect(service.ports).toEqual([`${port}:${port}`]);
    expect(service.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/health`);
    expect(service.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(service.build).toBe('.');
  });

  it('each service database is its own', () => {
    const urls = Object.keys(SERVICES).map((name) => compose.services[name].environment?.DATABASE_URL);
    expect(new Set(urls).size).toBe(urls.length);
  });

  it('the Dockerfile installs from the lockfile on Node 20+ and copies what the services run', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(Number(/^FROM node:(\d+)/m.exec(dockerfile)?.[1])).toBeGreaterThanOrEqual(20);
    expect(dockerfile).toMatch(/COPY package.json package-lock.json/);
    expect(dockerfile).toMatch(/RUN npm ci/);
    for (const path of ['apps', 'libs', 'tsconfig.json', '.swcrc']) expect(dockerfile).toContain(path);
  });
});
