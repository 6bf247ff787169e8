/**
 * A private redis-server for tests that need one the shared Redis cannot be: restarted, killed,
 * or run under another environment (a locale). Listens on 127.0.0.1 only, saves no RDB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { waitUntil } from './wait.ts';

/** A TCP port nothing listens on right now, for a server the test starts. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface RedisServerOptions {
  /** More redis-server arguments, e.g. `--appendonly yes --dir <dir>`. */
  readonly args?: readonly string[];
  /** Variables set over the test's own environment, e.g. `{ LC_ALL: 'en_US.UTF-8' }`. */
  readonly env?: Readonly<Record<string, string>>;
}

/** A redis-server child process on a fixed port, which can be stopped and started again. */
export class RedisServer {
  private proc: ChildProcess | null = null;
  readonly port: number;
  private readonly options: RedisServerOptions;

  constructor(port: number, options: RedisServerOptions = {}) {
    this.port = port;
    this.options = options;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server and waits until it answers PING with its data loaded. */
  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...(this.options.args ?? [])];
    const proc = spawn('redis-server', args, { stdio: 'ignore', env: { ...process.env, ...this.options.env } });
    this.proc = proc;
    const spawned: { error?: Error } = {};
    proc.once('error', (err) => (spawned.error = err)); // ENOENT: redis-server is not installed
    const probe = new Redis(this.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined); // refused until the server listens
    try {
      await waitUntil(
        async () => {
          if (spawned.error || proc.exitCode !== null) return true;
          const ok = await probe.connect().then(() => probe.ping()).catch(() => null);
          if (ok !== 'PONG') probe.disconnect();
          return ok === 'PONG' && (await probe.info('persistence')).includes('loading:0');
        },
        10_000,
        () => `redis-server on ${this.port} did not start`,
      );
    } finally {
      probe.disconnect();
    }
    if (spawned.error) throw new Error(`redis-server could not be started: ${spawned.error.message}`);
    if (proc.exitCode !== null) throw new Error(`redis-server on ${this.port} exited with ${proc.exitCode}`);
  }

  /** Stops the server: SHUTDOWN (it persists what its options say first) or a kill -9. */
  async stop(how: 'SHUTDOWN' | 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    if (how === 'SIGKILL') proc.kill('SIGKILL');
    else {
      const c = new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
      c.on('error', () => undefined); // the server closes the connection as it exits
      await c.call('SHUTDOWN').catch(() => undefined);
      c.disconnect();
    }
    await exited;
    this.proc = null;
  }
}
