/**
 * What routing costs Redis in instructions, not µs: starts a Redis of its own under valgrind's
 * callgrind and counts the instructions the server executes for the phases of bench/routing.ts
 * (2,000 agents, 50 skills, 10,000 waiting calls). On a shared or throttled machine wall-clock
 * numbers move by 2x from one run to the next; instruction counts move by a few percent, so
 * they show whether a change to the Lua made routing cheaper. Needs valgrind (Debian package
 * valgrind) and redis-server; takes about three minutes, as the server runs ~50x slower.
 *   node bench/routing-instructions.ts [port=6391] [steady cycles=30] [batches=8]
 *
 * Each phase is measured as: callgrind_control -z (zero), the phase's commands, callgrind_control
 * -d (dump) and its total read back. An empty window (zero, one PING, dump) is measured ten times
 * and its mean taken off every phase: it is the server's cron and the PING, not routing.
 *   bulk    every agent logs in, then one claim matches as many calls as it can: per decision;
 *   steady  one offer worked through answered -> agentCallEnded -> wrapUpEnded and one call
 *           enqueued (the "other 4 scripts"), then a claim that makes one decision: per cycle;
 *   batch   50 offers worked through, then one claim that matches the 50 agents: per decision.
 * With CALLGRIND_KEEP=<dir>, each phase's dumps are kept there (bulk.N, steady-claim.N, ...) for
 * callgrind_annotate, to see which functions (Lua VM, redis.call, allocation, GC) the
 * instructions went to.
 */
import { Redis } from 'ioredis';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoutingStore } from '../src/routing/routing-store.ts';
import type { Offer } from '../src/routing/types.ts';
import { CALLS, benchAgents, benchQueues, newBenchCall as newCall } from './routing-fixture.ts';

const port = Number(process.argv[2] ?? 6391);
const cycles = Number(process.argv[3] ?? 30);
const batches = Number(process.argv[4] ?? 8);
const dir = mkdtempSync(join(tmpdir(), 'hotline-callgrind-'));

for (const tool of ['valgrind', 'callgrind_control', 'redis-server']) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    console.error(`${tool} is not installed: this benchmark needs valgrind (Debian package valgrind) and redis-server`);
    process.exit(2);
  }
}
const server = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${dir}/callgrind.out`, 'redis-server', '--port', String(port), '--save', '', '--appendonly', 'no'], {
  stdio: 'ignore',
});
const control = (flag: string) => execFileSync('callgrind_control', [flag, String(server.pid)], { stdio: 'ignore' });
const keep = process.env.CALLGRIND_KEEP;
if (keep) mkdirSync(keep, { recursive: true });
let kept = 0;
/** Dumps the counts since the last zero and returns their total (the dump files are removed, or kept under `phase`). */
function dumped(phase: string): number {
  control('-d');
  let total = 0;
  for (const f of readdirSync(dir).filter((name) => /^callgrind\.out\.\d+$/.test(name))) {
    total += Number(readFileSync(join(dir, f), 'utf8').match(/^summary: (\d+)/m)?.[1] ?? NaN);
    if (keep && phase !== 'empty') renameSync(join(dir, f), join(keep, `${phase}.${++kept}`));
    else rmSync(join(dir, f));
  }
  return total;
}
async function instructions(phase: string, work: () => Promise<unknown>): Promise<number> {
  control('-z');
  await work();
  return dumped(phase);
}
const k = (n: number) => `${(n / 1000).toFixed(1)}k`;

/** Resolves once the server under valgrind (slow to start) answers PING. */
async function started(): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const probe = new Redis(port, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      probe.disconnect();
    }
  }
  throw new Error(`redis-server under valgrind did not answer on port ${port} within 30 s`);
}

const redis = new Redis(port, { lazyConnect: true });
try {
  await started();
  await redis.connect();
  const store = new RoutingStore(redis, 'bench:');
  const t0 = Date.now();
  await store.configure(benchQueues(), benchAgents());
  for (let i = 0; i < CALLS; i++) await store.enqueue(newCall(t0));
  for (const a of benchAgents()) await store.changeAgentState(a.id, 'login', undefined, t0);

  let empty = 0;
  for (let i = 0; i < 10; i++) empty += (await instructions('empty', () => redis.ping())) / 10;
  console.log(`empty window ${k(empty)} instructions (taken off each phase)`);

  let pending: Offer[] = [];
  const bulk = (await instructions('bulk', async () => (pending = await store.claim(t0)))) - empty;
  console.log(`bulk: ${pending.length} decisions, ${k(bulk / pending.length)} instructions per decision`);
  for (let i = 0; i < pending.length; i++) await store.enqueue(newCall(t0));

  const work = async (offers: Offer[], now: number) => {
    for (const o of offers) {
      await store.answered(o.callId, o.agentId, now);
      await store.agentCallEnded(o.agentId, now);
      await store.wrapUpEnded(o.agentId, o.callId, now);
      await store.enqueue(newCall(now));
    }
  };
  // One cycle unmeasured: the first run of each script loads it (EVAL after NOSCRIPT).
  await work(pending.splice(0, 1), t0 + 500);
  pending.push(...(await store.claim(t0 + 500)));
  let others = 0;
  let claims = 0;
  let decisions = 0;
  for (let i = 0; i < cycles; i++) {
    const now = t0 + 1_000 + i * 10;
    others += (await instructions('steady-others', () => work(pending.splice(0, 1), now))) - empty;
    let got: Offer[] = [];
    claims += (await instructions('steady-claim', async () => (got = await store.claim(now)))) - empty;
    decisions += got.length;
    pending.push(...got);
  }
  console.log(
    `steady: ${decisions} decisions in ${cycles} cycles; per cycle ${k((others + claims) / cycles)} instructions: ` +
      `claim ${k(claims / cycles)}, answered + agentCallEnded + wrapUpEnded + enqueue ${k(others / cycles)}`,
  );

  let batchInstr = 0;
  let batchDecisions = 0;
  for (let i = 0; i < batches; i++) {
    const now = t0 + 10_000 + i * 10;
    await work(pending.splice(0, 50), now);
    let got: Offer[] = [];
    batchInstr += (await instructions('batch', async () => (got = await store.claim(now)))) - empty;
    batchDecisions += got.length;
    pending.push(...got);
  }
  console.log(`batch: ${(batchDecisions / batches).toFixed(1)} decisions per claim, ${k(batchInstr / batchDecisions)} instructions per decision`);
} finally {
  redis.disconnect();
  server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
