import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import '../../setup/provided.ts';
import { scenarioXml, type SippCall } from './sipp-scenario.ts';

export type { SippCall, Step } from './sipp-scenario.ts';

/** SIPp's signalling and media ports: outside Asterisk's RTP range (30000-30999 in tests). */
let nextSlot = (process.pid % 20) * 20;

export interface SippResult {
  code: number | null;
  output: string;
}

/** Runs one SIPp call from 127.0.0.2 (the trunk's identify match, unless `source`) to the lab Asterisk. */
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
    '-i', call.source ?? '127.0.0.2',
    '-p', String(26000 + slot),
    '-mp', String(27000 + slot * 4),
    '-m', '1',
    '-recv_timeout', String(call.recvTimeoutMs ?? 30_000),
    '-nostdin',
    '-trace_err',
    '-error_file', join(dir, 'errors.log'),
  ];
  return runSipp(args, dir).done;
}

/** Caller numbers unique to one test, so its call is found among others in the run's database. */
let callerSeq = 0;
/** 11 digits: 1, the process, a sequence number, then `ending` (e.g. 8888 for a VIP in the demo CRM). */
export function uniqueCaller(ending = '0000'): string {
  callerSeq += 1;
  return `1${String(process.pid % 1000).padStart(3, '0')}${String(callerSeq % 1000).padStart(3, '0')}${ending.padStart(4, '0').slice(-4)}`;
}

export interface SippProcess {
  /** Resolves when SIPp exits: code 0 when it was called, answered and the far end hung up. */
  readonly done: Promise<SippResult>;
  stop(): void;
}

/**
 * A called party on the trunk's far end (127.0.0.2:5060, the lab's trunk contact): answers one
 * incoming call and waits for the far end to hang up — the caller Hotline calls back. With
 * `uas-busy` it refuses the call with 486 instead.
 */
export function sippAnswer(timeoutMs: number, scenario: 'uas-answer' | 'uas-busy' = 'uas-answer'): SippProcess {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-sipp-uas-'));
  const file = join(dir, 'uas.xml');
  writeFileSync(file, readFileSync(join(import.meta.dirname, `../sipp/${scenario}.xml`), 'utf8'));
  const slot = nextSlot++;
  const args = ['-sf', file, '-i', '127.0.0.2', '-p', '5060', '-mp', String(27000 + slot * 4), '-m', '1', '-timeout', `${Math.ceil(timeoutMs / 1000)}s`, '-timeout_error', '-nostdin', '-trace_err', '-error_file', join(dir, 'errors.log')];
  return runSipp(args, dir);
}

/** Starts SIPp in `dir`; `done` resolves with its exit code and output plus its error log. */
function runSipp(args: string[], dir: string): SippProcess {
  const p = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  p.stdout.on('data', (d) => (output += d));
  p.stderr.on('data', (d) => (output += d));
  const done = new Promise<SippResult>((resolvePromise) => {
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
  return { done, stop: () => p.kill('SIGTERM') };
}
