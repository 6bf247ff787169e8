import net from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { buildApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Hotline } from '../../src/main.ts';
import { isDatabaseUnavailable } from '../../src/records/database-unavailable.ts';
import { createPool } from '../../src/records/db.ts';
import { startTestHotline } from './helpers/app.ts';
import { ownDatabase } from './helpers/own-database.ts';

const ADMIN = 'admin-token-for-the-database-down-test';
const DOWN = { error: 'database_unavailable', message: 'the database is not reachable; try again' };

/** A port nothing listens on: every connection is refused, as with Postgres down. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

function databaseAt(port: number): string {
  const url = new URL(inject('databaseUrl'));
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

/** The app as main.ts builds it, on `databaseUrl`, with an env admin token (checked without Postgres). */
function start(tag: string, databaseUrl: string, env: Record<string, string> = {}) {
  return startTestHotline(tag, {
    DATABASE_URL: databaseUrl,
    REDIS_PREFIX: `${inject('redisPrefix')}${tag}:`,
    API_TOKENS: `admin:${ADMIN}`,
    JWT_SECRET: 'database-down-test-secret-0123456789abcdef',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_IP_PER_MINUTE: '0',
    // Nothing to drain (no calls, no events written): do not wait the default 10 s on stop.
    SHUTDOWN_DRAIN_MS: '200',
    ...env,
  });
}

describe('API with Postgres unreachable (the app as main.ts builds it, pool on a closed port)', () => {
  let hotline: Hotline;
  let stop: (() => Promise<void>) | undefined;
  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, token = ADMIN) =>
    hotline.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });

  beforeAll(async () => {
    ({ hotline, stop } = await start('dbdown', databaseAt(await closedPort())));
  });
  afterAll(async () => {
    await stop?.();
  });

  it('routes backed by Postgres answer 503 database_unavailable with the error body; /health still answers', async () => {
    const routes: Array<[method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: object]> = [
      ['GET', '/reports/calls?from=2026-01-05&to=2026-01-06'],
      ['GET', '/reports/agents?from=2026-01-05&to=2026-01-06'],
      ['GET', '/users'],
      ['GET', '/keys'],
      ['POST', '/keys', { name: 'ops', role: 'supervisor' }],
      ['GET', '/audit'],
      ['PUT', '/numbers/10010', { flowId: 'main' }],
    ];
    for (const [method, url, body] of routes) {
      const res = await call(method, url, body);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(503);
      expect(res.json(), `${method} ${url}`).toEqual(DOWN);
    }
    // An API key is looked up in Postgres by the access guard, before any route runs.
    const byKey = await call('GET', '/live', undefined, `hk_${'0'.repeat(40)}`);
    expect(byKey.statusCode, byKey.body).toBe(503);
    expect(byKey.json()).toEqual(DOWN);
    // An audited-first change is refused by the audit hook first (nothing changed in Redis).
    const queue = await call('PUT', '/queues/general', { maxWaitSeconds: 60 });
    expect(queue.statusCode, queue.body).toBe(503);
    expect(queue.json()).toMatchObject({ error: 'audit_unavailable' });

    const health = await hotline.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ status: 'ok' });
    // Served from memory (the number map loaded at startup), not from Postgres: still answers.
    expect((await call('GET', '/numbers')).statusCode).toBe(200);
  });

  it('OpenAPI lists the 503 on routes that reach Postgres and on audited-first changes, not on /health', async () => {
    const doc = (await hotline.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, { responses: Record<string, { description?: string }> }>> };
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path]?.[method]?.responses ?? {});
    for (const [path, method] of [
      ['/reports/calls', 'get'],
      ['/users', 'get'],
      ['/keys', 'post'],
      ['/audit', 'get'],
      ['/numbers/{number}', 'put'],
      ['/queues/{name}', 'put'],
      ['/agents/{id}/config', 'delete'],
      ['/emergency', 'post'],
    ]) {
      expect(statuses(path!, method!), `${method} ${path}`).toContain('503');
    }
    expect(doc.paths['/audit']!.get!.responses['503']!.description).toMatch(/database_unavailable/);
    expect(statuses('/health', 'get')).not.toContain('503');
  });
});

/** A real socket error from outside pg: what an HTTP lookup or another client's connection to `port` fails with. */
function socketRefused(port: number): Promise<Error> {
  return new Promise((resolve) => net.connect(port, '127.0.0.1').on('error', resolve));
}

describe('what counts as Postgres unavailable (real errors from pg, through the records pool)', () => {
  const caught = (p: Promise<unknown>) => p.then(() => expect.unreachable('no error'), (err: unknown) => err);
  const quiet = () => undefined;

  it('refused, timed out and terminated connections do; a failing statement does not', async () => {
    const refused = createPool(databaseAt(await closedPort()), quiet, { max: 1 });
    // Accepts and never answers: the pool gives up after its connect timeout.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => void sockets.add(socket.on('error', () => undefined)));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const hanging = createPool(databaseAt((silent.address() as net.AddressInfo).port), quiet, { max: 1, connectionTimeoutMillis: 200 });
    const reachable = createPool(inject('databaseUrl'), quiet, { max: 1 });
    // Checked out, as inTransaction and migrate use them: its queries fail through the pool's client.
    const client = await reachable.connect();
    client.on('error', () => undefined);
    try {
      expect(isDatabaseUnavailable(await caught(refused.query('SELECT 1')))).toBe(true);
      expect(isDatabaseUnavailable(await caught(refused.connect()))).toBe(true);
      expect(isDatabaseUnavailable(await caught(hanging.query('SELECT 1')))).toBe(true);
      // Bad statements are bugs, not outages: they stay 500.
      expect(isDatabaseUnavailable(await caught(client.query('SELEC 1')))).toBe(false);
      expect(isDatabaseUnavailable(await caught(client.query('SELECT * FROM no_such_table_here')))).toBe(false);
      expect(isDatabaseUnavailable(await caught(client.query('SELECT 1/0')))).toBe(false);
      // 57P01: the server ended this connection (as on a shutdown), then the client is unusable.
      expect(isDatabaseUnavailable(await caught(client.query('SELECT pg_terminate_backend(pg_backend_pid())')))).toBe(true);
      expect(isDatabaseUnavailable(await caught(client.query('SELECT 1')))).toBe(true);
    } finally {
      client.release(true);
      await Promise.all([refused.end(), hanging.end(), reachable.end()]);
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('the same socket codes from outside pg do not: an HTTP lookup or another connection refused answers 500 internal_error', async () => {
    const port = await closedPort();
    const fromNet = await socketRefused(port);
    expect((fromNet as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(isDatabaseUnavailable(fromNet)).toBe(false);
    // fetch fails with TypeError('fetch failed') caused by the socket's ECONNREFUSED.
    const fromFetch = await caught(fetch(`http://127.0.0.1:${port}/`));
    expect(((fromFetch as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(isDatabaseUnavailable(fromFetch)).toBe(false);

    const records = createPool(databaseAt(port), quiet, { max: 1 });
    const app = await buildApp({ logger: createLogger('silent'), readiness: { ari: () => true, postgres: async () => true, redis: async () => true, migrated: () => true } });
    // Routes failing as a handler would when its HTTP lookup, another client, or Postgres is refused.
    app.get('/lookup', async () => fetch(`http://127.0.0.1:${port}/`));
    app.get('/socket', async () => {
      throw await socketRefused(port);
    });
    app.get('/records', async () => records.query('SELECT 1'));
    try {
      for (const url of ['/lookup', '/socket']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode, `${url}: ${res.body}`).toBe(500);
        expect(res.json()).toEqual({ error: 'internal_error', message: 'internal error' });
      }
      const down = await app.inject({ method: 'GET', url: '/records' });
      expect(down.statusCode, down.body).toBe(503);
      expect(down.json()).toEqual(DOWN);
    } finally {
      await app.close();
      await records.end();
    }
  });

  it('a reachable Postgres failing a statement still answers 500 internal_error, not 503', async () => {
    // Reachable but never migrated: GET /audit's table is missing (42P01).
    const db = await ownDatabase('dbdown');
    const { hotline, stop } = await start('dbup', db.url, { MIGRATE_ON_START: 'false' });
    try {
      const res = await hotline.app.inject({ method: 'GET', url: '/audit', headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.statusCode, res.body).toBe(500);
      expect(res.json()).toEqual({ error: 'internal_error', message: 'internal error' });
    } finally {
      await stop();
      await db.drop();
    }
  });
});
