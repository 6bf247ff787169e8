import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { checkPassword } from '../../src/access/passwords.ts';
import { accessCommand } from '../../src/cli/access-command.ts';
import { TokenAuth } from '../../src/http/auth.ts';
import { AccessStore } from '../../src/records/access-store.ts';

const CLI = resolve(import.meta.dirname, '../../src/cli/hotline.ts');

function io(line = '') {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, readLine: async () => line } };
}

describe('hotline keys / users (real Postgres)', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl') });
  const store = new AccessStore(pool);
  const auth = new TokenAuth('', { keys: store });
  const env = { databaseUrl: inject('databaseUrl') };
  afterAll(() => pool.end());

  it('keys create prints a working key once; keys revoke turns it off; both are audited', async () => {
    const made = io();
    expect(await accessCommand('keys', ['create', '--role', 'supervisor', '--name', 'cli-test'], env, made.io)).toBe(0);
    const { key, id } = JSON.parse(made.out.join('')) as { key: string; id: string };
    expect(await auth.identify(`Bearer ${key}`)).toEqual({ role: 'supervisor', name: 'key:cli-test', keyId: id });
    const revoked = io();
    expect(await accessCommand('keys', ['revoke', id], env, revoked.io)).toBe(0);
    expect(await auth.check(`Bearer ${key}`)).toEqual({ ok: false, reason: 'expired' });
    expect(await accessCommand('keys', ['revoke', id], env, io().io)).toBe(1);
    const { rows } = await pool.query<{ action: string; actor: string }>("SELECT action, actor FROM audit_log WHERE after->>'id' = $1 ORDER BY id", [id]);
    expect(rows.map((r) => r.action)).toEqual(['POST /keys', 'DELETE /keys/:id']);
    expect(rows[0]!.actor).toMatch(/^cli:/);
  });

  it('refuses bad arguments with the usage and exit code 2, touching nothing', async () => {
    for (const args of [['create', '--role', 'agent', '--name', 'x'], ['create', '--role', 'root', '--name', 'x'], ['create', '--role', 'admin'], ['create', '--role', 'admin', '--name', 'x', '--expires', '2001-01-01T00:00:00Z'], ['rotate']]) {
      const r = io();
      expect(await accessCommand('keys', args, env, r.io), args.join(' ')).toBe(2);
      expect(r.err.join('')).toContain('usage: hotline keys');
    }
  });

  it('users create stores a scrypt hash of the password read from stdin; a taken name is refused', async () => {
    const username = `cli${Date.now().toString(36)}`;
    expect(await accessCommand('users', ['create', '--username', username, '--role', 'agent', '--agent-id', '1001'], env, io('a good long password\n').io)).toBe(0);
    const user = await store.userByName(username);
    expect(user).toMatchObject({ role: 'agent', agentId: '1001' });
    expect(await checkPassword('a good long password', user!.passwordHash)).toBe(true);
    expect(await accessCommand('users', ['create', '--username', username, '--role', 'admin'], env, io('another long password').io)).toBe(1);
    expect(await accessCommand('users', ['create', '--username', `x${username}`, '--role', 'admin'], env, io('short').io)).toBe(2);
  });

  it('the hotline binary runs it', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'keys', 'create', '--role', 'admin', '--name', 'from-binary'], {
      env: { ...process.env, DATABASE_URL: inject('databaseUrl'), REDIS_URL: inject('redisUrl'), ARI_PASSWORD: 'unused', LOG_LEVEL: 'silent' },
    });
    const { key, id } = JSON.parse(stdout) as { key: string; id: string };
    expect(await auth.identify(`Bearer ${key}`)).toEqual({ role: 'admin', name: 'key:from-binary', keyId: id });
  });
});
