import { expect, inject } from 'vitest';
import '../../setup/provided.ts';
import { startSoftphone, type Softphone } from './baresip.ts';
import { E2E_ADMIN_TOKEN, startHotlineProcess, waitFor, type HotlineProcess } from './hotline-process.ts';

/** A running app with registered agent softphones: what routing tests call the floor. */
export interface Floor {
  readonly app: HotlineProcess;
  readonly phones: readonly Softphone[];
  /** POST /agents/:id/:action as admin; the test fails on anything but 200. */
  act(id: string, action: string): Promise<void>;
  /** The agent's state and pause reason from GET /agents/:id. */
  agent(id: string): Promise<{ state: string; pauseReason: string | null }>;
  stop(): Promise<void>;
}

export const ADMIN_HEADERS = { authorization: `Bearer ${E2E_ADMIN_TOKEN}`, 'content-type': 'application/json' };

/** Whether Asterisk has a reachable contact for PJSIP endpoint `resource`. */
export async function endpointOnline(resource: string): Promise<boolean> {
  const ast = inject('asterisk');
  const res = await fetch(`${ast.ariUrl}/ari/endpoints/PJSIP/${resource}`, { headers: { authorization: `Basic ${Buffer.from(`${ast.ariUser}:${ast.ariPassword}`).toString('base64')}` } });
  return ((await res.json()) as { state: string }).state === 'online';
}

/** Starts the app (with `env`) and one baresip per agent, and waits until every one is registered. */
export async function startFloor(env: Record<string, string>, agents: ReadonlyArray<{ id: string; port: number; answer?: 'auto' | 'manual' }>): Promise<Floor> {
  const app = await startHotlineProcess(env);
  const phones = agents.map((a) => startSoftphone(a.id, a.port, a.answer ?? 'auto'));
  for (const [i, a] of agents.entries()) {
    await waitFor(() => endpointOnline(a.id), 15_000, () => `${a.id} never registered:\n${phones[i]?.output()}`);
  }
  return {
    app,
    phones,
    async act(id, action) {
      const res = await fetch(`${app.url}/agents/${id}/${action}`, { method: 'POST', headers: ADMIN_HEADERS, body: '{}' });
      expect(res.status, `${action} ${id}: ${await res.clone().text()}`).toBe(200);
    },
    async agent(id) {
      return (await (await fetch(`${app.url}/agents/${id}`, { headers: ADMIN_HEADERS })).json()) as { state: string; pauseReason: string | null };
    },
    async stop() {
      for (const p of phones) await p.stop();
      expect(await app.stop()).toBe(0);
      expect(app.logs()).not.toMatch(/unhandled rejection|uncaught exception|interpreter threw/i);
    },
  };
}
