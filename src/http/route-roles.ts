import type { Role } from './auth.ts';

/**
 * Who may call each route: the one list the route-table test checks every registered route
 * against and the README's Access table is written from. `public` routes take no credentials;
 * `agent:self` means an agent only on its own agent id (the route's `:id`).
 */
export type RouteAccess = 'public' | ReadonlyArray<Role | 'agent:self'>;

const READ: RouteAccess = ['admin', 'supervisor'];
const ADMIN: RouteAccess = ['admin'];

export const ROUTE_ROLES: Readonly<Record<string, RouteAccess>> = {
  'GET /health': 'public',
  'GET /ready': 'public',
  'GET /metrics': 'public',
  'POST /auth/login': 'public',

  'GET /flows': READ,
  'GET /flows/:id': READ,
  'GET /flows/:id/versions/:version': READ,
  'POST /flows/validate': READ,
  'POST /flows/:id/versions': ADMIN,
  'POST /flows/:id/rollback': ADMIN,
  'GET /numbers': READ,
  'PUT /numbers/:number': ADMIN,
  'DELETE /numbers/:number': ADMIN,
  'GET /business-hours': READ,
  'PUT /business-hours/:flow/:node': ADMIN,

  'GET /agents': READ,
  'GET /agents/:id': ['admin', 'supervisor', 'agent:self'],
  'POST /agents/:id/:action': ['admin', 'supervisor', 'agent:self'],

  'GET /queues': READ,
  'GET /queues/:name': READ,
  'PUT /queues/:name': ADMIN,
  'DELETE /queues/:name': ADMIN,
  'GET /agents/:id/config': READ,
  'PUT /agents/:id/config': ADMIN,
  'DELETE /agents/:id/config': ADMIN,

  'GET /live': ['admin', 'supervisor', 'agent'],
  'GET /live/ws': ['admin', 'supervisor', 'agent'],

  'GET /reports/calls': READ,
  'GET /reports/agents': READ,
  'GET /reports/nodes': READ,
  'GET /capacity': READ,

  'GET /emergency': READ,
  'POST /emergency': ADMIN,
  'DELETE /emergency': ADMIN,
  /** The page itself holds no data: it asks for credentials and reads /live/ws with them. */
  'GET /wallboard': 'public',
  /** The OpenAPI document and its UI describe the API; they hold no data. */
  'GET /docs': 'public',
  'GET /docs/': 'public',
  'GET /docs/json': 'public',
  'GET /docs/yaml': 'public',
  'GET /docs/static/index.html': 'public',
  'GET /docs/static/swagger-initializer.js': 'public',
  'GET /docs/static/*': 'public',

  'POST /keys': ADMIN,
  'GET /keys': ADMIN,
  'DELETE /keys/:id': ADMIN,
  'POST /users': ADMIN,
  'GET /users': ADMIN,
  'DELETE /users/:username': ADMIN,
  'PUT /users/:username/role': ADMIN,
  'PUT /users/:username/password': ADMIN,
  /** Any logged-in person, on their own session and password only (a JWT; keys and env tokens get 400). */
  'POST /auth/logout': ['admin', 'supervisor', 'agent'],
  'POST /auth/password': ['admin', 'supervisor', 'agent'],
  'GET /audit': ADMIN,
};

/** The README's table: one line per route with who may call it. */
export function routeRolesMarkdown(): string {
  const lines = ['| Route | Roles |', '| --- | --- |'];
  for (const [route, access] of Object.entries(ROUTE_ROLES)) {
    lines.push(`| \`${route}\` | ${access === 'public' ? 'public' : access.join(', ')} |`);
  }
  return lines.join('\n');
}
