import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeDtmfPcap } from './dtmf-pcap.ts';

/** SIPp scenario building, free of vitest so benchmarks can use it too. */
const scenarios = resolve(import.meta.dirname, '../sipp');

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
  /** Source address (default 127.0.0.2, the trunk's identify match). */
  source?: string;
  /** `uac-refused`: expect Asterisk to refuse the INVITE (401/403) instead of answering. */
  scenario?: 'uac' | 'uac-refused';
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
  return readFileSync(join(scenarios, `${call.scenario ?? 'uac'}.xml`), 'utf8')
    .replace('{{STEPS}}', steps)
    .replace('{{END}}', readFileSync(join(scenarios, `end-${call.end}.xml`), 'utf8'))
    .replaceAll('{{CALLER}}', call.caller);
}

