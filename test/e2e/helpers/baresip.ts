import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import '../../setup/provided.ts';

export interface Softphone {
  readonly dir: string;
  readonly output: () => string;
  /** Types a baresip command on its console, e.g. '/hangup'. */
  command(line: string): void;
  stop(): Promise<void>;
}

/**
 * A real agent softphone (it binds `sipListenPort` for UDP and TCP and the next port for TLS,
 * so give each softphone ports ten apart): baresip registers `agent` to the lab Asterisk with digest auth and
 * auto-answers calls, playing a generated 8 kHz tone (its own sine source only does 48 kHz).
 */
export function startSoftphone(agent: string, sipListenPort: number, answer: 'auto' | 'manual' = 'auto'): Softphone {
  const ast = inject('asterisk');
  const dir = mkdtempSync(join(tmpdir(), `hotline-baresip-${agent}-`));
  const wav = join(dir, 'tone.wav');
  writeFileSync(wav, toneWav(8000, 3));
  writeFileSync(
    join(dir, 'config'),
    [
      'module_path /usr/lib/baresip/modules',
      `sip_listen 127.0.0.1:${sipListenPort}`,
      'module stdio.so',
      'module g711.so',
      'module aufile.so',
      `audio_source aufile,${wav}`,
      `audio_player aufile,${join(dir, 'heard.wav')}`,
      'module_app account.so',
      'module_app menu.so',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'accounts'),
    `<sip:${agent}@127.0.0.1:${ast.sipPort}>;auth_pass=${ast.agentPassword};answermode=${answer};regint=60\n`,
  );
  const child: ChildProcess = spawn('baresip', ['-f', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    dir,
    output: () => out,
    command(line: string) {
      child.stdin?.write(`${line}\n`);
    },
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A mono 16-bit PCM WAV of a 440 Hz tone. */
function toneWav(rate: number, seconds: number): Buffer {
  const samples = rate * seconds;
  const buf = Buffer.alloc(44 + samples * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + samples * 2, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) buf.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  return buf;
}
