import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';
import '../../setup/provided.ts';
import { writeDtmfPcap } from './dtmf-pcap.ts';

const scenarios = resolve(import.meta.dirname, '../sipp');
/** SIPp's signalling and media ports: outside Asterisk's RTP range (30000-30999 in tests). */
let nextSlot = (process.pid % 20) * 20;

/** Wait `waitMs`, then press `digit` (RFC 2833 from SIPp's pcaps); a step without digit only waits. */
export interface Step {
  waitMs: number;
  digit?: string;
}

export interface SippCall {
  dialed: string;
  caller: string;
  steps?: Step[];
  /** 'wait-bye': Hotline ends the call; 'hangup': the caller hangs up after the steps. */
  end: 'wait-bye' | 'hangup';
  /** How long SIPp waits for any expected message before failing the call. */
  recvTimeoutMs?: number;
}

export interface SippResult {
  code: number | null;
  output: string;
}

/** The scenario for `call`; each key's pcap is written into `dir`. */
export function scenarioXml(call: SippCall, dir: string): string {
  const steps = (call.steps ?? [])
    .map((s, i) => {
      const pause = `  <pause milliseconds="${s.waitMs}"/>`;
      if (s.digit === undefined) return pause;
      const file = join(dir, `key-${i}.pcap`);
      writeDtmfPcap(file, s.digit, i);
      return `${pause}\n  <nop><action><exec play_pcap_audio="${file}"/></action></nop>`;
    })
    .join('\n');
  return readFileSync(join(scenarios, 'uac.xml'), 'utf8')
    .replace('{{STEPS}}', steps)
    .replace('{{END}}', readFileSync(join(scenarios, `end-${call.end}.xml`), 'utf8'))
    .replaceAll('{{CALLER}}', call.caller);
}

/** Runs one SIPp call from 127.0.0.2 (the trunk's identify match) to the lab Asterisk. */
export async function sippCall(call: SippCall): Promise<SippResult> {
  const ast = inject('asterisk');
  const slot = nextSlot++;
  const dir = mkdtempSync(join(tmpdir(), 'hotline-sipp-'));
  const file = join(dir, 'scenario.xml');
  writeFileSync(file, scenarioXml(call, dir));
  const args = [
    `127.0.0.1:${ast.sipPort}`,
    '-sf', file,
    '-s', call.dialed,
    '-i', '127.0.0.2',
    '-p', String(26000 + slot),
    '-mp', String(27000 + slot * 4),
    '-m', '1',
    '-recv_timeout', String(call.recvTimeoutMs ?? 30_000),
    '-nostdin',
    '-trace_err',
    '-error_file', join(dir, 'errors.log'),
  ];
  return new Promise((resolvePromise) => {
    const p = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d) => (output += d));
    p.stderr.on('data', (d) => (output += d));
    p.on('error', (err) => resolvePromise({ code: -1, output: `sipp failed to start: ${err.message}` }));
    p.on('exit', (code) => {
      let errors = '';
      try {
        errors = readFileSync(join(dir, 'errors.log'), 'utf8');
      } catch {
        // No errors file: no errors.
      }
      resolvePromise({ code, output: output + errors });
    });
  });
}

/** Caller numbers unique to one test, so its call is found among others in the run's database. */
let callerSeq = 0;
export function uniqueCaller(suffix = ''): string {
  callerSeq += 1;
  const base = `139${String(process.pid % 10000).padStart(4, '0')}${String(callerSeq).padStart(4, '0')}`;
  return suffix ? base.slice(0, 11 - suffix.length) + suffix : base;
}
