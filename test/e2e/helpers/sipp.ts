import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';
import '../../setup/provided.ts';

const scenarios = resolve(import.meta.dirname, '../sipp');
/** SIPp's signalling and media ports: outside Asterisk's RTP range (30000-30999 in tests). */
let nextSlot = (process.pid % 20) * 20;

export interface SippCall {
  /** Scenario file under test/e2e/sipp, without .xml. */
  scenario: 'uac-dtmf' | 'uac-wait-bye' | 'uac-hangup';
  dialed: string;
  caller: string;
  waitMs?: number;
  digit?: string;
  /** How long SIPp waits for any expected message before failing the call. */
  recvTimeoutMs?: number;
}

export interface SippResult {
  code: number | null;
  output: string;
}

/** Runs one SIPp call from 127.0.0.2 (the trunk's identify match) to the lab Asterisk. */
export async function sippCall(call: SippCall): Promise<SippResult> {
  const ast = inject('asterisk');
  const slot = nextSlot++;
  const dir = mkdtempSync(join(tmpdir(), 'hotline-sipp-'));
  const xml = readFileSync(join(scenarios, `${call.scenario}.xml`), 'utf8')
    .replaceAll('{{WAIT_MS}}', String(call.waitMs ?? 1000))
    .replaceAll('{{PCAP}}', `/usr/share/sip-tester/dtmf_2833_${call.digit ?? '1'}.pcap`)
    .replaceAll('{{CALLER}}', call.caller);
  const file = join(dir, `${call.scenario}.xml`);
  writeFileSync(file, xml);
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
export function uniqueCaller(): string {
  callerSeq += 1;
  return `1390${String(process.pid % 10000).padStart(4, '0')}${String(callerSeq).padStart(3, '0')}`;
}
