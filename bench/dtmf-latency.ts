/**
 * DTMF -> next prompt latency on real calls: SIPp callers press keys through the main menu
 * of the shipped flow while the real Hotline process runs them through the lab Asterisk. An
 * observer ARI app (subscribeAll) takes both timestamps from Asterisk's own clock: the key's
 * ChannelDtmfReceived and the PlaybackStarted of the prompt it leads to.
 *   node bench/dtmf-latency.ts [calls=100] [concurrency=20] [rate=10]
 * Needs the lab (npm test provisions it) and Postgres/Redis on their usual local ports.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { scenarioXml } from '../test/e2e/helpers/sipp-scenario.ts';

const [calls = 100, concurrency = 20, rate = 10] = process.argv.slice(2).map(Number);
const repo = resolve(import.meta.dirname, '..');
const pgBase = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const lab = {
  ARI_PORT: '29088',
  SIP_PORT: '29060',
  RTP_START: '32000',
  RTP_END: '33999',
  ARI_USER: 'hotline',
  ARI_APP: 'hotline',
  ARI_PASSWORD: randomBytes(8).toString('hex'),
  AGENT_PASSWORD: randomBytes(8).toString('hex'),
};
const labCmd = (cmd: string) => execFileSync('bash', [join(repo, 'scripts/lab/asterisk.sh'), cmd, 'bench'], { env: { ...process.env, ...lab }, stdio: ['ignore', 'ignore', 'inherit'] });
const db = `hotline_bench_${Date.now().toString(36)}`;
const admin = new pg.Client({ connectionString: pgBase });
await admin.connect();
await admin.query(`CREATE DATABASE ${db}`);
const dbUrl = new URL(pgBase);
dbUrl.pathname = `/${db}`;

labCmd('start');
const app = spawn(process.execPath, [join(repo, 'src/cli/hotline.ts'), 'start'], {
  env: {
    PATH: process.env.PATH ?? '',
    LOG_LEVEL: 'warn',
    HTTP_PORT: '3950',
    DEMO_CRM_PORT: '3951',
    ARI_URL: `http://127.0.0.1:${lab.ARI_PORT}`,
    ARI_PASSWORD: lab.ARI_PASSWORD,
    DATABASE_URL: dbUrl.toString(),
    REDIS_PREFIX: `hotline:bench:${db}:`,
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const cleanup = async () => {
  app.kill('SIGTERM');
  await new Promise((r) => app.once('exit', r));
  labCmd('stop');
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
};

try {
  for (let i = 0; ; i++) {
    const ok = await fetch('http://127.0.0.1:3950/ready').then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 100) throw new Error('hotline did not become ready');
    await new Promise((r) => setTimeout(r, 200));
  }

  // Asterisk's timestamps look like 2026-11-23T09:01:02.123+0000.
  const ts = (s: string) => Date.parse(s.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  const perChannel = new Map<string, Array<{ kind: 'dtmf' | 'play'; at: number }>>();
  const ws = new WebSocket(`ws://127.0.0.1:${lab.ARI_PORT}/ari/events?app=bench-observer&subscribeAll=true&api_key=${lab.ARI_USER}:${lab.ARI_PASSWORD}`);
  await new Promise((ok, fail) => ((ws.onopen = ok), (ws.onerror = fail)));
  ws.onmessage = (m) => {
    const e = JSON.parse(String(m.data)) as { type: string; timestamp: string; channel?: { id: string }; playback?: { target_uri: string } };
    const channel = e.type === 'ChannelDtmfReceived' ? e.channel?.id : e.type === 'PlaybackStarted' ? e.playback?.target_uri.replace(/^channel:/, '') : undefined;
    if (!channel) return;
    const list = perChannel.get(channel) ?? [];
    list.push({ kind: e.type === 'ChannelDtmfReceived' ? 'dtmf' : 'play', at: ts(e.timestamp) });
    perChannel.set(channel, list);
  };

  // Each key leads to a new prompt: welcome barge-in -> language menu, 1 -> main menu,
  // 2 -> services menu, 1 -> plan info.
  const dir = mkdtempSync(join(tmpdir(), 'hotline-bench-'));
  const file = join(dir, 'scenario.xml');
  writeFileSync(
    file,
    scenarioXml(
      { dialed: '10010', caller: '13800138000', steps: [{ waitMs: 600, digit: '1' }, { waitMs: 900, digit: '1' }, { waitMs: 900, digit: '2' }, { waitMs: 900, digit: '1' }, { waitMs: 1000 }], end: 'hangup' },
      dir,
    ),
  );
  const started = Date.now();
  const sipp = spawn('sipp', [`127.0.0.1:${lab.SIP_PORT}`, '-sf', file, '-s', '10010', '-i', '127.0.0.2', '-p', '29100', '-mp', '29200', '-m', String(calls), '-l', String(concurrency), '-r', String(rate), '-recv_timeout', '30000', '-nostdin', '-trace_stat', '-stf', join(dir, 'stat.csv')], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const code = await new Promise<number | null>((r) => sipp.on('exit', r));
  const wall = (Date.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  ws.close();

  const latencies: number[] = [];
  for (const events of perChannel.values()) {
    events.forEach((e, i) => {
      if (e.kind !== 'dtmf') return;
      const next = events.slice(i + 1).find((x) => x.kind === 'play');
      if (next) latencies.push(next.at - e.at);
    });
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  console.log(`dtmf-latency: ${calls} calls, ${concurrency} concurrent, ${rate} new calls/s, sipp exit ${code}, ${wall.toFixed(1)} s`);
  console.log(`  keys measured ${latencies.length}: p50 ${pct(50)} ms, p90 ${pct(90)} ms, p99 ${pct(99)} ms, max ${latencies.at(-1)} ms (Asterisk timestamps, ms resolution)`);
} finally {
  await cleanup();
}
