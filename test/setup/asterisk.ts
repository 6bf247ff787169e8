import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import './provided.ts';

const repo = resolve(import.meta.dirname, '../..');

/**
 * Starts one Asterisk 22 from the cached sid chroot with the project's asterisk-config/ on
 * loopback test ports, and stops it after the suite, keeping its log in test-artifacts/.
 * A missing chroot fails the suite loudly: npm test provisions it (scripts/lab/provision.sh).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cache = process.env.HOTLINE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hotline');
  const chroot = process.env.ASTERISK_CHROOT ?? join(cache, 'asterisk-sid');
  if (!existsSync(join(chroot, 'usr/sbin/asterisk'))) {
    throw new Error(`no Asterisk chroot at ${chroot}: run scripts/lab/provision.sh (npm test does)`);
  }
  const name = `vitest-${process.pid}`;
  const labEnv = {
    ARI_PORT: process.env.TEST_ARI_PORT ?? '28088',
    SIP_PORT: process.env.TEST_SIP_PORT ?? '25060',
    RTP_START: '30000',
    RTP_END: '30999',
    ARI_USER: 'hotline',
    ARI_APP: 'hotline',
    ARI_PASSWORD: randomBytes(12).toString('hex'),
    AGENT_PASSWORD: randomBytes(12).toString('hex'),
    TRUNK_MATCH: '127.0.0.2',
  };
  const env = { ...process.env, ...labEnv };
  const run = (cmd: 'start' | 'stop', extra: Record<string, string> = {}) =>
    execFileSync('bash', [join(repo, 'scripts/lab/asterisk.sh'), cmd, name], {
      env: { ...env, ...extra },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 60_000,
    });
  run('start');
  project.provide('asterisk', {
    ariUrl: `http://127.0.0.1:${env.ARI_PORT}`,
    ariUser: env.ARI_USER,
    ariPassword: env.ARI_PASSWORD,
    ariApp: env.ARI_APP,
    agentPassword: env.AGENT_PASSWORD,
    sipPort: Number(env.SIP_PORT),
    logFile: join(chroot, `var/log/hotline-${name}/messages.log`),
    labName: name,
    labEnv,
  });
  return async () => {
    run('stop', { AST_LOG_KEEP: join(repo, 'test-artifacts/asterisk') });
  };
}
