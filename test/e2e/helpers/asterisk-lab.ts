import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { inject } from 'vitest';
import '../../setup/provided.ts';

const script = resolve(import.meta.dirname, '../../../scripts/lab/asterisk.sh');

/** Starts, stops or kills (-9) the suite's Asterisk (same config, ports and secrets): a real outage. */
export function asteriskLab(cmd: 'start' | 'stop' | 'kill'): void {
  const ast = inject('asterisk');
  execFileSync('bash', [script, cmd, ast.labName], {
    env: { ...process.env, ...ast.labEnv },
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 60_000,
  });
}
