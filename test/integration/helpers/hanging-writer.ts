import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const CHILD = resolve(import.meta.dirname, 'call-record-child.ts');

/**
 * Starts call-record-child.ts and resolves once it hangs after its `hangAfter`-th commit of
 * `stage` (committed, not acknowledged). `kill()` then kills it -9 and answers how many rows it
 * had committed, for the kill -9 tests of the raw writer and the fold.
 */
export async function startHangingWriter(opts: {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  spoolDir: string;
  hangAfter: number;
  stage?: 'raw' | 'fold';
}): Promise<{ kill(): Promise<number> }> {
  const child = spawn(process.execPath, [CHILD], {
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: opts.databaseUrl,
      REDIS_URL: opts.redisUrl,
      PREFIX: opts.prefix,
      SPOOL_DIR: opts.spoolDir,
      HANG_AFTER_COMMITS: String(opts.hangAfter),
      ...(opts.stage ? { STAGE: opts.stage } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  await new Promise<void>((done, fail) => {
    const t = setTimeout(() => fail(new Error(`child never hung:\n${log}`)), 20_000);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      log += `${l}\n`;
      if (l === 'hanging') (clearTimeout(t), done());
    });
  });
  return {
    async kill() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      return log.split('\n').filter((l) => l.startsWith('committed ')).reduce((n, l) => n + Number(l.split(' ')[1]), 0);
    },
  };
}
