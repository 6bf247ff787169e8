/**
 * Concurrent queued calls held on one Asterisk: SIPp places `calls` calls at `rate` new calls/s
 * that walk the shipped main flow to the agent queue (skip the welcome, 1 for Chinese, 0 for an
 * agent) and then wait `holdSeconds` on hold music before hanging up. The queue is unattended:
 * one agent is logged in and paused through the HTTP API, because Hotline refuses to enqueue
 * when nobody is logged in. The real `hotline start` runs on a clock fixed in business hours.
 *   node bench/queued-calls.ts [calls=200] [rate=20] [holdSeconds=30]
 * Prints calls offered, calls that joined the queue (Postgres call_events), peak queued calls,
 * ARI channels at that moment, time to join p50/p90/p99 (the app's own event timestamps),
 * failures, and the app's and Asterisk's RSS and CPU.
 *
 * It starts its own lab Asterisk ("queued": ARI 38088, SIP 37060, RTP 40000-44999, room for
 * 2,500 calls at 2 ports each), away from the e2e lab (28088/25060/30000-30999) and
 * bench/dtmf-latency.ts (29088/29060/32000-33999). With ARI_PASSWORD set and an Asterisk
 * already answering on 38088 with it, that one is reused and left running.
 * Hotline listens on 4180 (demo CRM 4181), SIPp on 37100 (media 37200). holdSeconds must stay
 * under the general queue's maxWaitSeconds (300), or callers time out of the queue.
 * Needs the provisioned lab (npm test, or scripts/lab/provision.sh) and Postgres/Redis.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { scenarioXml } from '../test/e2e/helpers/sipp-scenario.ts';

const [calls = 200, rate = 20, holdSeconds = 30] = process.argv.slice(2).map(Number);
const repo = resolve(import.meta.dirname, '..');
const pgBase = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A Monday 10:00 in Asia/Shanghai: the main flow's hours_check sends the caller to the queue. */
const CLOCK = '2026-11-23T10:00:00+08:00';
const HTTP_PORT = 4180;
const TOKEN = randomBytes(16).toString('hex');
const lab = {
  ARI_PORT: '38088',
  SIP_PORT: '37060',
  RTP_START: '40000',
  RTP_END: '44999',
  ARI_USER: 'hotline',
  ARI_APP: 'hotline',
  ARI_PASSWORD: process.env.ARI_PASSWORD ?? randomBytes(8).toString('hex'),
  AGENT_PASSWORD: randomBytes(8).toString('hex'),
};
const ari = `http://127.0.0.1:${lab.ARI_PORT}/ari`;
const ariAuth = { authorization: `Basic ${Buffer.from(`${lab.ARI_USER}:${lab.ARI_PASSWORD}`).toString('base64')}` };
const api = `http://127.0.0.1:${HTTP_PORT}`;
const apiAuth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const labCmd = (cmd: string) =>
  execFileSync('bash', [join(repo, 'scripts/lab/asterisk.sh'), cmd, 'queued'], { env: { ...process.env, ...lab }, stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim();
const ariUp = () => fetch(`${ari}/asterisk/info`, { headers: ariAuth }).then((r) => r.ok, () => false);

/** CPU seconds (user + system) and resident memory of a process, from /proc. */
function usage(pid: number): { cpu: number; rssMb: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpu: (Number(stat[11]) + Number(stat[12])) / 100, rssMb: Number(rss?.[1] ?? 0) / 1024 };
  } catch {
    return { cpu: NaN, rssMb: NaN };
  }
}

const reused = process.env.ARI_PASSWORD !== undefined && (await ariUp());
/** asterisk.sh gives up after 30 s without ARI but leaves that Asterisk running: stop it then. */
function startLab(): number {
  try {
    return Number(labCmd('start'));
  } catch (err) {
    labCmd('stop');
    throw err;
  }
}
const asteriskPid = reused ? Number(execFileSync('pgrep', ['-f', '-n', 'hotline-queued/asterisk.conf']).toString().trim()) : startLab();
const db = `hotline_bench_q_${Date.now().toString(36)}`;
const admin = new pg.Client({ connectionString: pgBase });
await admin.connect();
await admin.query(`CREATE DATABASE ${db}`);
const dbUrl = new URL(pgBase);
dbUrl.pathname = `/${db}`;
const redisPrefix = `hotline:bench:${db}:`;
const dir = mkdtempSync(join(tmpdir(), 'hotline-bench-queued-'));
let appLog = '';
const app = spawn(process.execPath, [join(repo, 'src/cli/hotline.ts'), 'start'], {
  cwd: repo,
  env: {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HTTP_PORT: String(HTTP_PORT),
    DEMO_CRM: 'true',
    DEMO_CRM_PORT: String(HTTP_PORT + 1),
    ARI_URL: `http://127.0.0.1:${lab.ARI_PORT}`,
    ARI_PASSWORD: lab.ARI_PASSWORD,
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL: redisUrl,
    REDIS_PREFIX: redisPrefix,
    API_TOKENS: `admin:${TOKEN}`,
    CLOCK_FIXED_AT: CLOCK,
    // Events wait here only while Redis is unreachable; kept out of the working tree.
    EVENT_SPOOL_DIR: join(dir, 'spool'),
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
app.stdout.on('data', (d) => (appLog += d));
app.stderr.on('data', (d) => (appLog += d));
const appExit = new Promise<number | null>((r) => app.once('exit', r));
const records = new pg.Pool({ connectionString: dbUrl.toString(), max: 2 });

async function cleanup(): Promise<void> {
  app.kill('SIGTERM');
  await appExit;
  await records.end();
  if (!reused) labCmd('stop');
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
  const redis = new Redis(redisUrl);
  for (let cursor = '0'; ; ) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    if ((cursor = next) === '0') break;
  }
  redis.disconnect();
}

interface Sample {
  t: number;
  queued: number;
  channels: number;
  /** One ARI round trip (GET /asterisk/info): how long every command of the app waits at least. */
  ariMs: number;
  app: { cpu: number; rssMb: number };
  asterisk: { cpu: number; rssMb: number };
}

try {
  for (let i = 0; !(await fetch(`${api}/ready`).then((r) => r.ok, () => false)); i++) {
    if (app.exitCode !== null || i > 150) throw new Error(`hotline did not become ready:\n${appLog.slice(-3000)}`);
    await sleep(200);
  }
  for (const action of ['login', 'pause']) {
    const res = await fetch(`${api}/agents/agent1001/${action}`, { method: 'POST', headers: apiAuth, body: '{}' });
    if (!res.ok) throw new Error(`${action} agent1001: ${res.status} ${await res.text()}`);
  }

  // Skip the welcome (barge-in), 1 for Chinese, 0 for an agent; then hold and hang up.
  const scenario = join(dir, 'scenario.xml');
  const steps = [{ waitMs: 600, digit: '1' }, { waitMs: 900, digit: '1' }, { waitMs: 900, digit: '0' }, { waitMs: holdSeconds * 1000 }];
  writeFileSync(scenario, scenarioXml({ dialed: '10010', caller: '13900000000', steps, end: 'hangup' }, dir));

  // Once a second: calls in the queue now (joined, not yet left or ended; the app writes
  // events behind by a few ms), Asterisk's channels, and both processes' CPU and memory.
  const samples: Sample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const t = Date.now();
      const [queued, channels] = await Promise.all([
        records
          .query<{ n: string }>(
            `SELECT count(*) AS n FROM (SELECT call_id FROM call_events GROUP BY call_id
               HAVING bool_or(type = 'queue.joined') AND NOT bool_or(type IN ('queue.left', 'call.ended'))) q`,
          )
          .then((r) => Number(r.rows[0]!.n)),
        fetch(`${ari}/channels`, { headers: ariAuth }).then(async (r) => ((await r.json()) as unknown[]).length, () => NaN),
      ]);
      const ariStart = Date.now();
      await fetch(`${ari}/asterisk/info`, { headers: ariAuth }).then((r) => r.arrayBuffer(), () => undefined);
      samples.push({ t, queued, channels, ariMs: Date.now() - ariStart, app: usage(app.pid!), asterisk: usage(asteriskPid) });
      await sleep(Math.max(0, 1000 - (Date.now() - t)));
    }
  })();

  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const started = Date.now();
  const before = { app: usage(app.pid!), asterisk: usage(asteriskPid) };
  const statFile = join(dir, 'stat.csv');
  const sipp = spawn(
    'sipp',
    [`127.0.0.1:${lab.SIP_PORT}`, '-sf', scenario, '-s', '10010', '-i', '127.0.0.2', '-p', '37100', '-mp', '37200',
      '-m', String(calls), '-l', String(calls), '-r', String(rate), '-recv_timeout', '30000', '-nostdin',
      '-trace_stat', '-stf', statFile, '-fd', '1', '-trace_err', '-error_file', join(dir, 'errors.log')],
    { cwd: dir, stdio: ['ignore', 'ignore', openSync(join(dir, 'sipp.log'), 'w')] },
  );
  const sippCode = await new Promise<number | null>((r) => sipp.on('exit', r));
  const wall = (Date.now() - started) / 1000;
  const after = { app: usage(app.pid!), asterisk: usage(asteriskPid) };
  const runPct = (k: 'app' | 'asterisk') => (100 * (after[k].cpu - before[k].cpu)) / wall;
  // Let the app record the last hangups before reading the records.
  for (let i = 0; i < 50; i++) {
    const r = await records.query<{ s: string; e: string }>(
      `SELECT count(*) FILTER (WHERE type = 'call.started') AS s, count(*) FILTER (WHERE type = 'call.ended') AS e FROM call_events`,
    );
    if (r.rows[0]!.s === r.rows[0]!.e) break;
    await sleep(200);
  }
  sampling = false;
  await sampler;
  const end = { app: usage(app.pid!), asterisk: usage(asteriskPid) };

  // SIPp's statistics: the last line of its CSV, columns named in the first.
  const [head, ...rows] = readFileSync(statFile, 'utf8').trim().split('\n');
  const stat = Object.fromEntries(head!.split(';').map((k, i) => [k, rows.at(-1)!.split(';')[i]]));
  const sippNum = (k: string) => Number(stat[k] ?? NaN);

  const events = await records.query<{ call_id: string; type: string; at: Date; data: Record<string, unknown> }>(
    'SELECT call_id, type, at, data FROM call_events ORDER BY call_id, seq',
  );
  const byCall = new Map<string, typeof events.rows>();
  for (const e of events.rows) byCall.set(e.call_id, [...(byCall.get(e.call_id) ?? []), e]);
  const fromStart: number[] = [];
  const fromKey: number[] = [];
  const crm: number[] = [];
  /** How far apart the app saw a caller's first two keys, which SIPp sends 900 ms apart. */
  const keyGaps: number[] = [];
  const edges: Array<[number, number]> = [];
  const notJoined = new Map<string, number>();
  const notJoinedTrail: string[] = [];
  for (const evs of byCall.values()) {
    const at = (pred: (e: (typeof evs)[number]) => boolean) => evs.find(pred)?.at.getTime();
    const begin = at((e) => e.type === 'call.started');
    const joined = at((e) => e.type === 'queue.joined');
    const key = at((e) => e.type === 'menu.selected' && e.data.node === 'main_menu' && e.data.digit === '0');
    const left = at((e) => e.type === 'queue.left' || e.type === 'call.ended');
    const lookup = at((e) => e.type === 'flow.node_entered' && e.data.node === 'lookup_customer');
    const looked = at((e) => e.type === 'http.completed');
    if (lookup !== undefined && looked !== undefined) crm.push(looked - lookup);
    const keys = evs.filter((e) => e.type === 'dtmf').map((e) => e.at.getTime());
    if (keys.length >= 2) keyGaps.push(keys[1]! - keys[0]!);
    if (joined === undefined) {
      const last = [...evs].reverse().find((e) => e.type === 'flow.node_entered')?.data.node ?? 'no node';
      const why = `${String(last)}/${String(evs.at(-1)?.type === 'call.ended' ? evs.at(-1)!.data.cause : 'not ended')}`;
      notJoined.set(why, (notJoined.get(why) ?? 0) + 1);
      if (notJoinedTrail.length < 2) notJoinedTrail.push(evs.map((e) => (e.type === 'dtmf' ? `dtmf ${String(e.data.digit)}@${String(e.data.node)}` : e.type === 'flow.node_entered' ? `>${String(e.data.node)}` : e.type)).join(', '));
      continue;
    }
    if (begin !== undefined) fromStart.push(joined - begin);
    if (key !== undefined) fromKey.push(joined - key);
    edges.push([joined, 1], [left ?? Infinity, -1]);
  }
  // Peak queued from the events themselves: a sweep over join (+1) and leave (-1) instants.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let queued = 0;
  let peakQueued = 0;
  for (const [, d] of edges) peakQueued = Math.max(peakQueued, (queued += d));

  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
  const dist = (xs: number[]) => `min ${Math.min(...xs)} ms, p50 ${pct(xs, 50)} ms, p90 ${pct(xs, 90)} ms, p99 ${pct(xs, 99)} ms, max ${Math.max(...xs)} ms`;
  const atPeak = samples.reduce((best, s) => (s.queued > best.queued ? s : best), samples[0]!);
  const maxChannels = Math.max(...samples.map((s) => s.channels));
  // CPU share over the sampled seconds around the peak (±5 s), as % of one core.
  const near = samples.filter((s) => Math.abs(s.t - atPeak.t) <= 5000);
  const cpuPct = (k: 'app' | 'asterisk') => (near.length > 1 ? (100 * (near.at(-1)![k].cpu - near[0]![k].cpu)) / ((near.at(-1)!.t - near[0]!.t) / 1000) : NaN);
  const logLevel = (re: RegExp) => appLog.split('\n').filter((l) => re.test(l));
  const errorLines = logLevel(/"level":(50|60)/);
  const warnMsgs = new Set(logLevel(/"level":40/).map((l) => (JSON.parse(l) as { msg?: string }).msg));

  console.log(`queued-calls: ${calls} calls at ${rate}/s, hold ${holdSeconds} s, sipp exit ${sippCode}, ${wall.toFixed(1)} s (load average before: ${loadBefore})`);
  console.log(`  offered ${sippNum('OutgoingCall(C)')} (SIPp), started in the app ${[...byCall.values()].filter((e) => e.some((x) => x.type === 'call.started')).length}, joined the queue ${edges.length / 2}`);
  console.log(`  peak queued ${peakQueued} (events); sampled peak ${atPeak.queued} with ${atPeak.channels} Asterisk channels (max sampled ${maxChannels})`);
  console.log(`  time to join from call start: ${dist(fromStart)} (includes the callers' 2.4 s of scripted pauses)`);
  console.log(`  time to join from the 0 key:   ${dist(fromKey)}`);
  const ariMs = samples.map((s) => s.ariMs);
  console.log(`  ARI round trip, sampled once a second: ${dist(ariMs)}`);
  console.log(`  why keys get lost: welcome key -> CRM answer (a stop-playback ARI call, then the lookup) ${dist(crm)}; the app saw keys 1 and 2 (sent 900 ms apart) ${dist(keyGaps)}`);
  console.log(`  failures: SIPp failed ${sippNum('FailedCall(C)')} of ${sippNum('OutgoingCall(C)')}; not joined ${[...notJoined].map(([k, n]) => `${n} at ${k}`).join(', ') || 0}; app log: ${errorLines.length} errors, ${logLevel(/"level":40/).length} warnings${warnMsgs.size ? ` (${[...warnMsgs].join('; ')})` : ''}`);
  const sippErrors = existsSync(join(dir, 'errors.log')) ? readFileSync(join(dir, 'errors.log'), 'utf8').trim().split('\n').filter(Boolean) : [];
  for (const t of notJoinedTrail) console.log(`    not joined: ${t}`);
  for (const l of sippErrors.slice(0, 3)) console.log(`    sipp: ${l.slice(0, 300)}`);
  if (sippCode !== 0 && sippCode !== 1) console.log(readFileSync(join(dir, 'sipp.log'), 'utf8').slice(-1500));
  for (const l of errorLines.slice(0, 3)) console.log(`    ${l.slice(0, 300)}`);
  console.log(`  hotline: RSS ${atPeak.app.rssMb.toFixed(0)} MB at peak, ${end.app.rssMb.toFixed(0)} MB at the end; CPU ${cpuPct('app').toFixed(0)}% of a core around the peak, ${runPct('app').toFixed(0)}% over the SIPp run, ${end.app.cpu.toFixed(1)} s in all`);
  console.log(`  asterisk: RSS ${atPeak.asterisk.rssMb.toFixed(0)} MB at peak; CPU ${cpuPct('asterisk').toFixed(0)}% of a core around the peak, ${runPct('asterisk').toFixed(0)}% over the SIPp run`);
} finally {
  await cleanup();
}
