/**
 * Events into Postgres end to end through the durable pipeline (append -> Redis stream ->
 * consumer -> INSERT ... ON CONFLICT DO NOTHING -> XACK), on a fresh database and key prefix
 * that are dropped at the end. The goal: >= 50,000 events/s sustained on 2 cores.
 *   node bench/events.ts [seconds=10] [rate=60000] [postgres url] [redis url]
 *   node bench/events.ts summaries [dense|spread] [seconds=10] [rate=60000] [postgres url] [redis url]
 *   node bench/events.ts transport [events=100000]     (Redis stream vs BullMQ, no Postgres)
 *
 * Phases:
 *   backlog  `rate` x `seconds` events are appended with the consumer stopped (they wait in
 *            Redis), then the consumer starts: rows/s while it drains = the write ceiling;
 *   steady   events are appended at `rate` per second in 10 ms ticks for `seconds`, with the
 *            consumer running: committed rows/s and event lag. Lag is commit time minus the
 *            append time of the oldest event of its stream entry (an upper bound per event).
 * Everything runs in this one process, as in the app (producers and consumer share a core).
 *
 * `summaries`: the same phases with the app's sink (CallRecordSink) and realistic calls
 * (bench/synthetic-calls.ts, time-ordered, ~16 events per call), so the fold consumer group
 * (summaries, 15-minute and daily rollups) runs beside the raw writers on the same 2 cores.
 * The raw writers and the folders are measured apart: rows/s and append -> commit lag of each.
 * `dense`: calls as close together as 10 M events in one day (each batch touches ~2,000 calls
 * in progress); `spread`: as 10 M events over 30 days.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { CallEvent } from '../src/domain/call-event.ts';
import { createLogger } from '../src/log/logger.ts';
import { createPool } from '../src/records/db.ts';
import { EventStore } from '../src/records/event-store.ts';
import { EventWriter, type CommitInfo } from '../src/records/event-writer.ts';
import { migrate } from '../src/records/migrate.ts';
import { CallRecordSink } from '../src/records/call-record-sink.ts';
import { timeOrdered, type Ev } from './synthetic-calls.ts';

const args = process.argv.slice(2);
const mode = args[0] === 'transport' ? 'transport' : args[0] === 'summaries' ? 'summaries' : 'pipeline';
if (mode !== 'pipeline') args.shift();
const density = mode === 'summaries' && (args[0] === 'dense' || args[0] === 'spread') ? args.shift()! : 'dense';
const redisUrl = (mode === 'transport' ? args[1] : args[3]) ?? 'redis://127.0.0.1:6379';
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function event(callId: string, seq: number): CallEvent {
  return { id: randomUUID(), callId, seq, type: 'flow.node_entered', at: new Date().toISOString(), data: { node: 'main-menu', flow: 'main', version: 3 } };
}

/** `total` events, 20 per call, like a busy IVR's stream. */
function* events(total: number): Generator<CallEvent> {
  let callId = randomUUID();
  for (let i = 0; i < total; i++) {
    if (i % 20 === 0) callId = randomUUID();
    yield event(callId, (i % 20) + 1);
  }
}

function pct(sorted: { lag: number; n: number }[], total: number, p: number): number {
  let seen = 0;
  for (const s of sorted) {
    seen += s.n;
    if (seen >= (p / 100) * total) return s.lag;
  }
  return NaN;
}

async function pipeline(): Promise<void> {
  const seconds = Number(args[0] ?? 10);
  const rate = Number(args[1] ?? 60_000);
  const baseUrl = args[2] ?? 'postgres://postgres@127.0.0.1:5432/test';
  const dbName = `hotline_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(baseUrl);
  dbUrl.pathname = `/${dbName}`;
  const pool = createPool(dbUrl.toString(), () => undefined);
  await migrate(pool);
  const prefix = `hotline:bench:${randomBytes(4).toString('hex')}:`;
  const spoolDir = await mkdtemp(join(tmpdir(), 'hotline-bench-spool-'));
  let lags: { lag: number; n: number }[] = [];
  let committed = 0;
  const onCommit = (info: CommitInfo) => {
    committed += info.inserted;
    for (const e of info.entries) lags.push({ lag: info.committedAt - e.appendedAt, n: e.count });
  };
  const make = () => new EventWriter<CallEvent>(new EventStore(pool), createLogger('warn'), { redisUrl, prefix, name: 'call_events', spoolDir, onCommit });
  try {
    console.log(`events: ${seconds} s per phase at ${fmt(rate)}/s offered; Postgres ${dbName}, Redis ${prefix}`);

    // backlog: everything waits in Redis, then one consumer drains it.
    const total = rate * seconds;
    const w1 = make();
    let t = Date.now();
    for (const e of events(total)) w1.append(e);
    await w1.whenDurable(120_000);
    console.log(`backlog: ${fmt(total)} events appended and in Redis in ${Date.now() - t} ms (${fmt(total / ((Date.now() - t) / 1000))}/s)`);
    t = Date.now();
    w1.start();
    await w1.drain(300_000);
    const drainMs = Date.now() - t;
    console.log(`backlog: drained into Postgres in ${drainMs} ms: ${fmt(committed / (drainMs / 1000))} events/s`);
    await w1.close();

    // steady: appended at `rate` while the consumer runs.
    committed = 0;
    lags = [];
    const w2 = make();
    w2.start();
    await new Promise((r) => setTimeout(r, 200));
    const gen = events(Number.MAX_SAFE_INTEGER);
    const perTick = rate / 100;
    t = Date.now();
    let appended = 0;
    while (Date.now() - t < seconds * 1000) {
      const due = Math.floor(((Date.now() - t) / 1000) * rate) + perTick;
      while (appended < due) {
        w2.append(gen.next().value as CallEvent);
        appended += 1;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const appendMs = Date.now() - t;
    const committedInWindow = committed;
    await w2.drain(300_000);
    const allMs = Date.now() - t;
    lags.sort((a, b) => a.lag - b.lag);
    const n = lags.reduce((s, l) => s + l.n, 0);
    console.log(
      `steady: offered ${fmt(appended / (appendMs / 1000))}/s for ${(appendMs / 1000).toFixed(1)} s; ` +
        `committed ${fmt(committedInWindow / (appendMs / 1000))}/s during it, all ${fmt(committed)} in ${(allMs / 1000).toFixed(1)} s ` +
        `(${fmt(committed / (allMs / 1000))}/s end to end)`,
    );
    console.log(`steady: lag append -> commit p50 ${pct(lags, n, 50)} ms, p99 ${pct(lags, n, 99)} ms, max ${lags.at(-1)?.lag} ms`);
    const { rows } = await pool.query<{ n: string; d: string }>('SELECT count(*) AS n, count(DISTINCT id) AS d FROM call_events');
    console.log(`check: ${fmt(Number(rows[0]!.n))} rows, ${fmt(Number(rows[0]!.d))} distinct ids, ${fmt(total + appended)} appended`);
    await w2.close();
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    await rm(spoolDir, { recursive: true, force: true });
    const r = new Redis(redisUrl);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  }
}

/** Lag percentiles of committed entries (append of the entry's oldest event -> commit). */
class Lags {
  private all: { lag: number; n: number }[] = [];
  count = 0;

  add(info: CommitInfo): void {
    for (const e of info.entries) {
      this.all.push({ lag: info.committedAt - e.appendedAt, n: e.count });
      this.count += e.count;
    }
  }

  text(): string {
    this.all.sort((a, b) => a.lag - b.lag);
    return `p50 ${pct(this.all, this.count, 50)} ms, p99 ${pct(this.all, this.count, 99)} ms, max ${this.all.at(-1)?.lag} ms`;
  }
}

async function summaries(): Promise<void> {
  const seconds = Number(args[0] ?? 10);
  const rate = Number(args[1] ?? 60_000);
  const baseUrl = args[2] ?? 'postgres://postgres@127.0.0.1:5432/test';
  const total = rate * seconds;
  // As many calls per hour as 10 M events in a day (dense) or in 30 days (spread).
  const days = (2 * total / 10_000_000) * (density === 'dense' ? 1 : 30);
  const day0 = Date.parse('2025-03-02T16:00:00Z');
  const dbName = `hotline_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(baseUrl);
  dbUrl.pathname = `/${dbName}`;
  const pool = createPool(dbUrl.toString(), () => undefined);
  await migrate(pool);
  await pool.query('SELECT call_events_ensure_days($1::date, $2::date)', ['2025-03-02', new Date(day0 + (days + 2) * 86_400_000).toISOString().slice(0, 10)]);
  const prefix = `hotline:bench:${randomBytes(4).toString('hex')}:`;
  const spoolDir = await mkdtemp(join(tmpdir(), 'hotline-bench-spool-'));
  // One stream of calls for both phases (twice `total` events): the steady phase continues the
  // calls of the backlog. Made before each phase, so generating them is not measured.
  const source = timeOrdered(2 * total, day0, days, 5_000);
  const take = (n: number): Ev[] => {
    const out: Ev[] = [];
    while (out.length < n) {
      const b = source.next();
      if (b.done) break;
      for (const e of b.value) out.push(e);
    }
    return out;
  };
  let raw = new Lags();
  let fold = new Lags();
  const make = () =>
    new EventWriter<Ev>(new CallRecordSink(pool, new EventStore(pool)), createLogger('warn'), {
      redisUrl,
      prefix,
      name: 'call_events',
      spoolDir,
      onCommit: (i) => raw.add(i),
      onFold: (i) => fold.add(i),
    });
  // Events go as the generator made them: Postgres and the fold ignore the extra `t` (its time in ms).
  const until = async (w: EventWriter<Ev>, done: () => Promise<boolean>) => {
    while (!(await done())) await new Promise((r) => setTimeout(r, 20));
    return Date.now();
  };
  try {
    console.log(`summaries (${density}: calls as dense as 10 M events in ${density === 'dense' ? 1 : 30} day(s)): ${seconds} s per phase at ${fmt(rate)}/s offered; Postgres ${dbName}`);
    const w1 = make();
    let events = take(total);
    let t = Date.now();
    for (const e of events) w1.append(e);
    await w1.whenDurable(120_000);
    console.log(`backlog: ${fmt(total)} events in Redis in ${Date.now() - t} ms`);
    t = Date.now();
    w1.start();
    const rawDone = await until(w1, async () => (await w1.backlog()) === 0);
    const foldDone = await until(w1, async () => (await w1.foldBacklog()) === 0);
    console.log(
      `backlog: raw events written in ${rawDone - t} ms: ${fmt(raw.count / ((rawDone - t) / 1000))} events/s (folders running beside); ` +
        `folded in ${foldDone - t} ms: ${fmt(fold.count / ((foldDone - t) / 1000))} events/s`,
    );
    await w1.close();

    raw = new Lags();
    fold = new Lags();
    events = take(total);
    const w2 = make();
    w2.start();
    await new Promise((r) => setTimeout(r, 200));
    t = Date.now();
    let appended = 0;
    const perTick = rate / 100;
    while (Date.now() - t < seconds * 1000) {
      const due = Math.floor(((Date.now() - t) / 1000) * rate) + perTick;
      while (appended < due && appended < events.length) w2.append(events[appended++]!);
      await new Promise((r) => setTimeout(r, 10));
    }
    const appendMs = Date.now() - t;
    const rawIn = raw.count;
    const foldIn = fold.count;
    const rawDone2 = await until(w2, async () => (await w2.backlog()) === 0 && w2.pending === 0);
    const foldDone2 = await until(w2, async () => (await w2.foldBacklog()) === 0);
    console.log(
      `steady: offered ${fmt(appended / (appendMs / 1000))}/s for ${(appendMs / 1000).toFixed(1)} s; raw committed ${fmt(rawIn / (appendMs / 1000))}/s during it, ` +
        `all ${(((rawDone2 - t) / 1000)).toFixed(1)} s after the start; folded ${fmt(foldIn / (appendMs / 1000))}/s during it, all ${((foldDone2 - t) / 1000).toFixed(1)} s after the start ` +
        `(caught up ${((foldDone2 - t - appendMs) / 1000).toFixed(1)} s after the last append)`,
    );
    console.log(`steady: lag append -> raw commit ${raw.text()}; append -> fold commit ${fold.text()}`);
    await w2.close();
    const { rows } = await pool.query<{ n: string; c: string; o: string }>(
      'SELECT (SELECT count(*) FROM call_events) AS n, (SELECT count(*) FROM calls) AS c, (SELECT sum(offered) FROM call_rollup_15m_no_agent) AS o',
    );
    console.log(`check: ${fmt(Number(rows[0]!.n))} event rows of ${fmt(total + appended)} appended; ${fmt(Number(rows[0]!.c))} calls rows, ${fmt(Number(rows[0]!.o))} offered in the rollup`);
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    await rm(spoolDir, { recursive: true, force: true });
    const r = new Redis(redisUrl);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  }
}

/**
 * Redis only: the same events through a stream (entries of 250 events, XREADGROUP 40 entries,
 * XACK+XDEL) and through BullMQ (one job per event, as its open-source worker takes one job
 * at a time; addBulk in chunks of 1,000; worker concurrency 50). What the choice rests on.
 */
async function transport(): Promise<void> {
  const total = Number(args[0] ?? 100_000);
  const prefix = `hotline:bench:${randomBytes(4).toString('hex')}:`;
  const all = [...events(total)];
  const r = new Redis(redisUrl);
  try {
    // Stream
    const key = `${prefix}stream`;
    await r.xgroup('CREATE', key, 'g', '0', 'MKSTREAM');
    let t = Date.now();
    const p = r.pipeline();
    for (let i = 0; i < total; i += 250) p.xadd(key, '*', 'e', JSON.stringify(all.slice(i, i + 250)));
    await p.exec();
    const addMs = Date.now() - t;
    t = Date.now();
    let got = 0;
    for (;;) {
      const res = (await r.xreadgroup('GROUP', 'g', 'c', 'COUNT', 40, 'STREAMS', key, '>')) as [string, [string, string[]][]][] | null;
      const entries = res?.[0]?.[1] ?? [];
      if (!entries.length) break;
      for (const [, f] of entries) got += (JSON.parse(f[1]!) as unknown[]).length;
      const ids = entries.map((e) => e[0]);
      await r.multi().xack(key, 'g', ...ids).xdel(key, ...ids).exec();
    }
    const readMs = Date.now() - t;
    console.log(`stream: add ${fmt(total / (addMs / 1000))} events/s, read+parse+ack ${fmt(got / (readMs / 1000))} events/s`);

    // BullMQ
    const q = new Queue('events', { connection: { url: redisUrl }, prefix: `${prefix}bull` });
    t = Date.now();
    for (let i = 0; i < total; i += 1_000) await q.addBulk(all.slice(i, i + 1_000).map((e) => ({ name: 'e', data: e, opts: { jobId: e.id, removeOnComplete: true } })));
    const bAddMs = Date.now() - t;
    let done = 0;
    t = Date.now();
    await new Promise<void>((resolve) => {
      const worker = new Worker('events', async () => undefined, { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix: `${prefix}bull`, concurrency: 50 });
      worker.on('completed', () => {
        if (++done === total) void worker.close().then(() => resolve());
      });
    });
    const bReadMs = Date.now() - t;
    console.log(`bullmq: add ${fmt(total / (bAddMs / 1000))} events/s, process ${fmt(total / (bReadMs / 1000))} events/s`);
    await q.close();
  } finally {
    const keys = await r.keys(`${prefix}*`);
    for (let i = 0; i < keys.length; i += 1_000) await r.del(...keys.slice(i, i + 1_000));
    r.disconnect();
  }
}

await (mode === 'transport' ? transport() : mode === 'summaries' ? summaries() : pipeline());
