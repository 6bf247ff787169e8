import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { migrate } from '../../src/records/migrate.ts';
import { waitFor } from '../e2e/helpers/hotline-process.ts';
import { callEvents, callEventWriter, isolatedPipeline, removeSpoolDirs, rowsOf } from './helpers/events.ts';
import { freePort, RedisServer } from './helpers/redis-server.ts';
import { TcpProxy } from './helpers/tcp-proxy.ts';

const CHILD = resolve(import.meta.dirname, 'helpers/event-consumer-child.ts');
const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 4 });
const redis = new Redis(inject('redisUrl'));

beforeAll(() => migrate(pool));
afterAll(async () => {
  await pool.end();
  redis.disconnect();
  await removeSpoolDirs();
});

/** Starts the consumer child; `saw` resolves the moment it printed `line` for the `count`-th time. */
function startChild(env: Record<string, string>): { child: ChildProcess; saw: (line: string, count?: number) => Promise<void> } {
  const child = spawn(process.execPath, [CHILD], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: inject('databaseUrl'), REDIS_URL: inject('redisUrl'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  const lines = createInterface({ input: child.stdout! });
  const seen = new Map<string, number>();
  const waiting: { line: string; count: number; resolve: () => void }[] = [];
  lines.on('line', (l) => {
    out += `${l}\n`;
    const word = l.split(' ')[0]!;
    seen.set(word, (seen.get(word) ?? 0) + 1);
    for (const w of [...waiting]) if ((seen.get(w.line) ?? 0) >= w.count) (waiting.splice(waiting.indexOf(w), 1), w.resolve());
  });
  const saw = (line: string, count = 1) =>
    new Promise<void>((resolve, reject) => {
      if ((seen.get(line) ?? 0) >= count) return resolve();
      const t = setTimeout(() => reject(new Error(`child never printed "${line}" x${count}:\n${out}`)), 20_000);
      waiting.push({ line, count, resolve: () => (clearTimeout(t), resolve()) });
    });
  return { child, saw };
}

async function kill9(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe('durable event pipeline: kill -9 of the consumer', () => {
  it('dies after a commit and before its ack: the batch is claimed and re-inserted as nothing (no loss, no duplicate)', async () => {
    const p = await isolatedPipeline();
    const producer = callEventWriter(pool, p);
    const events = callEvents(5_000);
    for (const e of events) producer.append(e);
    expect(await producer.whenDurable(10_000)).toBe(true);

    const c = startChild({ PREFIX: p.prefix, SPOOL_DIR: p.spoolDir, HANG_AFTER_COMMITS: '2' });
    await c.saw('hanging');
    await kill9(c.child);
    const before = await rowsOf(pool, events[0]!.callId);
    expect(before.rows).toBeGreaterThan(0);
    expect(before.rows).toBeLessThan(5_000);

    // A new consumer takes over the dead one's pending batch once it is idle long enough.
    producer.start();
    expect(await producer.drain(20_000)).toBe(true);
    expect(await rowsOf(pool, events[0]!.callId)).toEqual({ rows: 5_000, distinct: 5_000 });
    expect(producer.duplicatesSkipped).toBeGreaterThan(0); // the committed-but-unacked batch came back
    expect(await producer.backlog()).toBe(0);
    await producer.close();
  });

  it('dies with a batch in flight while writing a backlog: a new consumer finishes it exactly once', async () => {
    const p = await isolatedPipeline();
    const producer = callEventWriter(pool, p);
    const events = callEvents(20_000);
    for (const e of events) producer.append(e);
    expect(await producer.whenDurable(10_000)).toBe(true);

    const c = startChild({ PREFIX: p.prefix, SPOOL_DIR: p.spoolDir });
    await c.saw('inserting', 3); // killed before, during or just after the third batch's commit
    await kill9(c.child);
    expect((await rowsOf(pool, events[0]!.callId)).rows).toBeLessThan(20_000);

    producer.start();
    expect(await producer.drain(30_000)).toBe(true);
    expect(await rowsOf(pool, events[0]!.callId)).toEqual({ rows: 20_000, distinct: 20_000 });
    expect(await producer.backlog()).toBe(0);
    await producer.close();
  });
});

describe('durable event pipeline: Redis unreachable', () => {
  it('spools to the local file while Redis is cut off and replays it when Redis is back', async () => {
    const url = new URL(inject('redisUrl'));
    const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port || 6379) });
    await proxy.up();
    const p = await isolatedPipeline();
    const writer = callEventWriter(pool, { ...p, redisUrl: `redis://127.0.0.1:${proxy.port}` });
    writer.start();
    const events = callEvents(3_000);
    const callId = events[0]!.callId;
    try {
      for (const e of events.slice(0, 500)) writer.append(e);
      expect(await writer.drain(10_000)).toBe(true);

      await proxy.down();
      for (const e of events.slice(500, 2_500)) writer.append(e);
      expect(await writer.whenDurable(10_000)).toBe(true);
      const files = await readdir(p.spoolDir);
      expect(files.length).toBeGreaterThan(0);
      const spooled = (await Promise.all(files.map((f) => readFile(join(p.spoolDir, f), 'utf8'))))
        .flatMap((t) => t.split('\n').filter(Boolean))
        .flatMap((l) => JSON.parse(l) as { id: string }[]);
      expect(spooled.length).toBe(2_000);
      expect(writer.pending).toBe(2_000);
      expect(writer.healthy).toBe(false);

      await proxy.up();
      for (const e of events.slice(2_500)) writer.append(e);
      expect(await writer.drain(20_000)).toBe(true);
      expect(await rowsOf(pool, callId)).toEqual({ rows: 3_000, distinct: 3_000 });
      expect(await readdir(p.spoolDir)).toEqual([]);
      expect(writer.pending).toBe(0);
      expect(writer.healthy).toBe(true);
    } finally {
      await writer.close();
      await proxy.down();
    }
  });

  it('replays the spool a killed process left behind, dropping only its torn last line', async () => {
    const p = await isolatedPipeline();
    // The pid of a process that has exited: the file's owner is dead.
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
    const events = callEvents(300);
    const lines = [JSON.stringify(events.slice(0, 100)), JSON.stringify(events.slice(100, 250))];
    const torn = JSON.stringify(events.slice(250)).slice(0, 40);
    await writeFile(join(p.spoolDir, `call_events.open.${dead}-1700000000000.1.jsonl`), `${lines.join('\n')}\n${torn}`);

    const writer = callEventWriter(pool, p);
    writer.start();
    try {
      await waitFor(async () => (await rowsOf(pool, events[0]!.callId)).rows >= 250, 15_000, () => 'orphaned spool never replayed');
      expect(await writer.drain(10_000)).toBe(true);
      expect(await rowsOf(pool, events[0]!.callId)).toEqual({ rows: 250, distinct: 250 });
      expect(await readdir(p.spoolDir)).toEqual([]);
    } finally {
      await writer.close();
    }
  });
});

describe('durable event pipeline: Redis restart with AOF', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  for (const how of ['SHUTDOWN', 'SIGKILL'] as const) {
    it(`loses nothing Redis acknowledged across a restart (${how})`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'hotline-redis-aof-'));
      dirs.push(dir);
      const port = await freePort();
      // appendfsync always for the kill -9: Redis then fsyncs before it replies. SHUTDOWN
      // fsyncs the AOF itself, so the default (everysec) is tested there.
      const server = new RedisServer(port, { args: ['--appendonly', 'yes', '--dir', dir, ...(how === 'SIGKILL' ? ['--appendfsync', 'always'] : [])] });
      await server.start();
      const p = await isolatedPipeline();
      const writer = callEventWriter(pool, { ...p, redisUrl: `redis://127.0.0.1:${port}` });
      const events = callEvents(6_000);
      const callId = events[0]!.callId;
      try {
        // A consumer that dies after its first commit leaves a pending batch in the group.
        const c = startChild({ PREFIX: p.prefix, SPOOL_DIR: p.spoolDir, REDIS_URL: `redis://127.0.0.1:${port}`, HANG_AFTER_COMMITS: '1' });
        for (const e of events.slice(0, 4_000)) writer.append(e);
        expect(await writer.whenDurable(10_000)).toBe(true);
        await c.saw('hanging');
        await kill9(c.child);

        await server.stop(how);
        for (const e of events.slice(4_000, 5_000)) writer.append(e); // Redis is down: spooled
        expect(await writer.whenDurable(10_000)).toBe(true);
        await server.start();
        for (const e of events.slice(5_000)) writer.append(e);

        writer.start();
        expect(await writer.drain(30_000)).toBe(true);
        expect(await rowsOf(pool, callId)).toEqual({ rows: 6_000, distinct: 6_000 });
        expect(writer.duplicatesSkipped).toBeGreaterThan(0); // the pending batch survived the restart
      } finally {
        await writer.close();
        await server.stop('SIGKILL');
      }
    });
  }
});

describe('durable event pipeline: events Postgres refuses', () => {
  it('dead-letters a bad event and writes the rest of its batch', async () => {
    const p = await isolatedPipeline();
    const writer = callEventWriter(pool, p);
    const events = callEvents(50);
    const bad = { ...events[17]!, seq: 0 }; // violates CHECK (seq > 0)
    for (const e of [...events.slice(0, 17), bad, ...events.slice(18)]) writer.append(e);
    writer.start();
    try {
      expect(await writer.drain(10_000)).toBe(true);
      expect(await rowsOf(pool, events[0]!.callId)).toEqual({ rows: 49, distinct: 49 });
      const dead = await redis.xrange(`${p.prefix}events:call_events:dead`, '-', '+');
      expect(dead.length).toBe(1);
      expect(JSON.parse(dead[0]![1][1]!)).toMatchObject({ id: bad.id, seq: 0 });
      expect(dead[0]![1][3]).toMatch(/check constraint/);
    } finally {
      await writer.close();
    }
  });
});

