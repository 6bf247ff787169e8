import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { ROUTE_ROLES } from '../../src/http/route-roles.ts';
import { declaredResponses } from '../../src/http/schemas/common-responses.ts';
import type { Hotline } from '../../src/main.ts';
import { startTestHotline } from './helpers/app.ts';

const ADMIN = 'admin-token-for-the-api-fuzz-test';
/** Routes with no JSON answer to declare: Swagger's own pages (hidden from the document) and the WebSocket upgrade. */
const NOT_API = (route: string) => route.startsWith('GET /docs') || route === 'GET /live/ws';

/** Every route that takes a body, with path values its schema accepts (so the body decides). */
const BODY_ROUTES = Object.keys(ROUTE_ROLES)
  .filter((r) => /^(POST|PUT) /.test(r))
  .map((r) => {
    const [method, path] = r.split(' ') as ['POST' | 'PUT', string];
    const url = path
      .replace(':id/versions', 'main/versions')
      .replace(':id/rollback', 'main/rollback')
      .replace(':number', '10010')
      .replace(':name', 'general')
      .replace(':id/config', 'agent1001/config')
      .replace(':id/:action', 'agent1001/pause');
    return { route: r, method, url };
  });

/**
 * Malformed bodies: wrong types, huge strings, deep nesting, unknown fields, injection
 * payloads, not JSON at all. Each is sent to every body-taking route.
 */
function malformedBodies(): Array<{ label: string; payload: string; contentType?: string }> {
  const json = (label: string, v: unknown) => ({ label, payload: JSON.stringify(v) });
  const hostile = ["' OR 1=1 --", '"; DROP TABLE call_events; --', '<script>alert(1)</script>', '{{constructor.constructor("return process")()}}', '../../etc/passwd', '\u0000\u0001'];
  return [
    json('null', null),
    json('number', 42),
    json('string', 'hello'),
    json('array', [1, 2, 3]),
    json('boolean', true),
    json('wrong field types', { numbers: 5, flow: 7, reason: false, role: 1, name: [], skills: 'all', endpoint: {}, strategy: 9, username: null, password: 3 }),
    json('huge string', { name: 'x'.repeat(300_000) }),
    // Built as text: JSON.stringify itself gives up long before this depth.
    { label: 'deep nesting', payload: `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}` },
    { label: 'deep arrays', payload: `${'['.repeat(10_000)}${']'.repeat(10_000)}` },
    json('unknown fields only', { totallyUnknown: 1, __proto__x: 2 }),
    json('prototype pollution', JSON.parse('{"__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}}')),
    ...hostile.map((h, i) => json(`hostile ${i}`, { name: h, reason: h, flow: h, numbers: [h], role: h, username: h, password: h, endpoint: h, id: h })),
    { label: 'not JSON', payload: '{"unterminated": ' },
    { label: 'binary', payload: '\u00ff\u00fe\u0000garbage', contentType: 'application/json' },
    { label: 'form encoded', payload: 'a=1&b=2', contentType: 'application/x-www-form-urlencoded' },
  ];
}

describe('malformed request bodies across the API (the app as main.ts builds it; real Postgres and Redis)', () => {
  let hotline: Hotline;
  let stopApp: (() => Promise<void>) | undefined;
  const get = async (url: string) => (await hotline.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN}` } })).json() as unknown;
  /** What an admin can read: none of it may change. */
  const state = async () => ({
    flows: await get('/flows'),
    numbers: await get('/numbers'),
    queues: await get('/queues'),
    agents: ((await get('/agents')) as { agents: Array<Record<string, unknown>> }).agents.map((a) => ({ id: a.id, state: a.state, skills: a.skills })),
    emergency: await get('/emergency'),
    keys: await get('/keys'),
  });

  beforeAll(async () => {
    ({ hotline, stop: stopApp } = await startTestHotline('api-fuzz', {
      REDIS_PREFIX: `${inject('redisPrefix')}fuzz:`,
      API_TOKENS: `admin:${ADMIN}`,
      JWT_SECRET: 'api-fuzz-test-secret-0123456789abcdef',
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_IP_PER_MINUTE: '0',
    }));
    // Until Postgres is migrated and routing configured, writes would fail for that reason instead.
    // (No Asterisk here, so /ready as a whole stays false; its migrations check is what counts.)
    const migrated = async () => ((await hotline.app.inject({ method: 'GET', url: '/ready' })).json() as { checks: { migrations: boolean } }).checks.migrations;
    for (let i = 0; i < 300 && !(await migrated()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await migrated()).toBe(true);
  });
  afterAll(async () => {
    await stopApp?.();
  });

  it('answers every malformed body with a 4xx and a stable error id, changes nothing and keeps running', { timeout: 120_000 }, async () => {
    const bodies = malformedBodies();
    expect(BODY_ROUTES.length).toBeGreaterThanOrEqual(10);
    // The issue asks for at least 200 malformed bodies across the API.
    expect(BODY_ROUTES.length * bodies.length).toBeGreaterThanOrEqual(200);
    const before = await state();
    const bad: string[] = [];
    for (const r of BODY_ROUTES) {
      for (const b of bodies) {
        const res = await hotline.app.inject({
          method: r.method,
          url: r.url,
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': b.contentType ?? 'application/json' },
          payload: b.payload,
        });
        const body = res.headers['content-type']?.toString().includes('json') ? (res.json() as { error?: unknown }) : {};
        if (res.statusCode < 400 || res.statusCode >= 500 || typeof body.error !== 'string' || !/^[a-z][a-z_]*$/.test(body.error)) {
          bad.push(`${r.route} <- ${b.label}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        }
      }
    }
    expect(bad).toEqual([]);
    expect(await state()).toEqual(before);
    expect((await hotline.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);

    // Control: a valid change does show in `state()`, so the equality above is not vacuous.
    const { name: _n, ...general } = (await get('/queues/general')) as Record<string, unknown>;
    const put = (body: unknown) => hotline.app.inject({ method: 'PUT', url: '/queues/general', headers: { authorization: `Bearer ${ADMIN}` }, payload: body as object });
    expect((await put({ ...general, maxWaitSeconds: 123 })).statusCode).toBe(200);
    expect(await state()).not.toEqual(before);
    expect((await put(general)).statusCode).toBe(200);
  });

  it('every registered API route declares a response schema for its success status and its refusals', () => {
    const declared = declaredResponses(hotline.app);
    const routes = [...declared.keys()].filter((r) => !r.startsWith('HEAD ') && !NOT_API(r));
    // The walk covers the whole route-role table (so no route escapes it by being left out).
    expect(Object.keys(ROUTE_ROLES).filter((r) => !NOT_API(r) && !declared.has(r))).toEqual([]);
    const gaps = routes.flatMap((route) => {
      const statuses = declared.get(route)!;
      const needed = [
        ...(statuses.some((s) => /^2\d\d$/.test(s)) ? [] : ['2xx']),
        // Behind credentials: refused by the access guard before the handler runs.
        ...(ROUTE_ROLES[route] === 'public' ? [] : ['401', '403', '429']),
        // A path parameter or a body can be malformed.
        ...(/:|^(POST|PUT) /.test(route) ? ['400'] : []),
        // Postgres unreachable (503 database_unavailable, from a handler or the guard's API key
        // lookup) or an audited-first change's row not written (503 audit_unavailable): every
        // route but the few public ones served from memory or Redis.
        ...(['GET /health', 'GET /metrics', 'GET /wallboard'].includes(route) ? [] : ['503']),
      ].filter((s) => !statuses.includes(s));
      return needed.length ? [`${route}: ${needed.join(', ')}`] : [];
    });
    expect(routes.length).toBeGreaterThan(30);
    expect(gaps).toEqual([]);
  });

  it('answers every read route with a body its response schema accepts (a schema stricter than the data would be a 500)', async () => {
    const main = (await get('/flows/main')) as { activeVersion: number };
    const reads = [
      '/health',
      '/flows',
      '/flows/main',
      `/flows/main/versions/${main.activeVersion}`,
      '/numbers',
      '/business-hours',
      '/agents',
      '/agents?state=logged_out',
      '/agents/agent1001',
      '/agents/agent1001/config',
      '/queues',
      '/queues/general',
      '/live',
      '/reports/calls?from=2026-01-05&to=2026-01-06',
      '/reports/agents?from=2026-01-05&to=2026-01-06',
      '/emergency',
      '/keys',
      '/audit',
    ];
    for (const url of reads) {
      const res = await hotline.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.statusCode, `${url}: ${res.body.slice(0, 300)}`).toBe(200);
    }
    // No history to plan from: the refusal goes through the declared error body.
    const plan = await hotline.app.inject({ method: 'GET', url: '/capacity?day=2026-01-05', headers: { authorization: `Bearer ${ADMIN}` } });
    expect([200, 422], plan.body).toContain(plan.statusCode);
    const csv = await hotline.app.inject({ method: 'GET', url: '/reports/calls?from=2026-01-05&to=2026-01-06&format=csv', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    // A handler's 404 passes its error-body schema too.
    const unknown = await hotline.app.inject({ method: 'GET', url: '/agents/nobody', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'agent_not_found', message: 'no agent nobody' });
  });

  it('serves OpenAPI 3, generated from the zod schemas, at /docs/json for every listed route, and the UI at /docs', async () => {
    const res = await hotline.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown; parameters?: Array<{ name: string }> }>> };
    expect(doc.openapi).toMatch(/^3\./);
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{([a-zA-Z]+)\}/g, ':$1')}`)));
    const api = Object.keys(ROUTE_ROLES).filter((r) => !r.startsWith('GET /docs') && r !== 'GET /live/ws');
    expect(api.filter((r) => !documented.has(r))).toEqual([]);
    // Every operation documents its success answer with a body schema (a 204 has none), and a
    // route behind credentials documents its refusals with the error body.
    type Answer = { content?: Record<string, { schema?: { type?: unknown; properties?: Record<string, unknown> } }> };
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses?: Record<string, Answer> }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const route = `${method.toUpperCase()} ${path.replace(/\{([a-zA-Z]+)\}/g, ':$1')}`;
        const responses = op.responses ?? {};
        const success = Object.entries(responses).filter(([status]) => /^2\d\d$/.test(status));
        if (success.length === 0) missing.push(`${route}: no 2xx`);
        for (const [status, answer] of success) {
          const schemas = Object.values(answer.content ?? {}).map((c) => c.schema);
          if (status !== '204' && (schemas.length === 0 || schemas.some((x) => !x?.type))) missing.push(`${route}: ${status} without a schema`);
        }
        if (ROUTE_ROLES[route] !== 'public') {
          for (const status of ['401', '403']) {
            if (!responses[status]?.content?.['application/json']?.schema?.properties?.error) missing.push(`${route}: no ${status} error body`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
    // The report routes document both of their forms.
    expect(Object.keys((doc.paths['/reports/calls']?.get as { responses: Record<string, Answer> }).responses['200']?.content ?? {}).sort()).toEqual(['application/json', 'text/csv']);
    // A zod body schema became the request body's JSON Schema.
    expect(JSON.stringify(doc.paths['/emergency']?.post?.requestBody)).toMatch(/numbers/);
    expect(doc.paths['/agents/{id}/{action}']?.post?.parameters?.map((p) => p.name).sort()).toEqual(['action', 'id']);
    // /docs redirects to the UI's page; follow it.
    let ui = await hotline.app.inject({ method: 'GET', url: '/docs' });
    for (let hops = 0; ui.statusCode >= 300 && ui.statusCode < 400 && hops < 3; hops++) {
      const to = new URL(String(ui.headers.location), 'http://hotline/docs/');
      ui = await hotline.app.inject({ method: 'GET', url: to.pathname });
    }
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toMatch(/swagger/i);
  });
});
