import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { inject } from 'vitest';
import '../../setup/provided.ts';

const repo = resolve(import.meta.dirname, '../../..');
let nextPort = 3900 + (process.pid % 50) * 2;
/** The admin token every e2e Hotline process accepts. */
export const E2E_ADMIN_TOKEN = 'e2e-admin-token-0123456789';

export interface HotlineProcess {
  readonly url: string;
  readonly logs: () => string;
  /** SIGTERM and wait: the graceful path. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash. */
  kill9(): Promise<void>;
}

/** Starts the real `hotline start` as a child process against the lab's Asterisk. */
export async function startHotlineProcess(env: Record<string, string> = {}, waitReady = true): Promise<HotlineProcess> {
  const ast = inject('asterisk');
  const port = nextPort++;
  const child: ChildProcess = spawn(process.execPath, [resolve(repo, 'src/cli/hotline.ts'), 'start'], {
    cwd: repo,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      LOG_LEVEL: 'debug',
      HTTP_PORT: String(port),
      ARI_URL: ast.ariUrl,
      ARI_USER: ast.ariUser,
      ARI_PASSWORD: ast.ariPassword,
      ARI_APP: ast.ariApp,
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: inject('redisPrefix'),
      API_TOKENS: `admin:${E2E_ADMIN_TOKEN}`,
      DEMO_CRM_PORT: String(port + 1000),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const proc: HotlineProcess = {
    url,
    logs: () => out,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
  if (waitReady) {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`hotline exited ${child.exitCode}:\n${out}`);
      const res = await fetch(`${url}/ready`).catch(() => null);
      return res?.status === 200;
    }, 20_000, () => `hotline not ready:\n${out.slice(-3000)}`);
  }
  return proc;
}

/** Polls `check` until it returns true; fails with `describe()` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(describe());
    await new Promise((r) => setTimeout(r, 100));
  }
}
