import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { newApiKey } from '../access/api-key.ts';
import { hashPassword } from '../access/passwords.ts';
import { AccessStore, type AccessRole } from '../records/access-store.ts';
import { createPool } from '../records/db.ts';
import { migrate } from '../records/migrate.ts';

export const KEYS_USAGE = `usage: hotline keys create --role <admin|supervisor|agent> --name <name> [--agent-id <id>] [--expires <ISO date-time>]
       hotline keys revoke <id>
  create prints the key once (only its SHA-256 is stored); an agent key needs --agent-id.
`;
export const USERS_USAGE = `usage: hotline users create --username <name> --role <admin|supervisor|agent> [--agent-id <id>] < password
  The password (12+ characters) is read from the first line of stdin; only its scrypt hash is stored.
`;

export interface AccessIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  /** The password for `users create`. */
  readLine(): Promise<string>;
}

const ROLES = new Set(['admin', 'supervisor', 'agent']);

/** `hotline keys …` and `hotline users …`: what admins do through the API, for the first admin and for scripts. Audited as `cli:<os user>`, in the change's transaction. */
export async function accessCommand(kind: 'keys' | 'users', argv: readonly string[], env: { databaseUrl: string }, io: AccessIo): Promise<number> {
  const usage = kind === 'keys' ? KEYS_USAGE : USERS_USAGE;
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv.slice(1)],
      strict: true,
      allowPositionals: true,
      options: { role: { type: 'string' }, name: { type: 'string' }, username: { type: 'string' }, 'agent-id': { type: 'string' }, expires: { type: 'string' } },
    });
    const sub = argv[0];
    const v = parsed.values;
    if (kind === 'keys' && sub === 'create') {
      if (!v.name || !/^[A-Za-z0-9 _.-]{1,64}$/.test(v.name)) throw new Error('--name is required (letters, digits, space, _ . -; up to 64)');
    } else if (kind === 'keys' && sub === 'revoke') {
      if (parsed.positionals.length !== 1) throw new Error('revoke takes one key id');
    } else if (kind === 'users' && sub === 'create') {
      if (!v.username || !/^[a-z][a-z0-9_.-]{1,63}$/.test(v.username)) throw new Error('--username is required (lowercase, 2-64 characters)');
    } else throw new Error(sub ? `unknown subcommand ${sub}` : 'a subcommand is required');
    if (sub === 'create') {
      if (!v.role || !ROLES.has(v.role)) throw new Error('--role must be admin, supervisor or agent');
      if (v.role === 'agent' && !v['agent-id']) throw new Error('an agent credential needs --agent-id');
      if (v['agent-id'] && !/^[A-Za-z0-9_.@-]{1,64}$/.test(v['agent-id'])) throw new Error('--agent-id is not a valid agent id');
      if (v.expires && !(Date.parse(v.expires) > Date.now())) throw new Error('--expires must be a future date-time');
    }
  } catch (err) {
    io.stderr.write(`hotline ${kind}: ${(err as Error).message}\n${usage}`);
    return 2;
  }

  const pool = createPool(env.databaseUrl, () => undefined);
  try {
    await migrate(pool);
    const store = new AccessStore(pool);
    const actor = `cli:${userInfo().username}`;
    const v = parsed.values;
    if (kind === 'keys' && argv[0] === 'create') {
      const { key, digest } = newApiKey();
      const info = await store.createKey({ name: v.name!, role: v.role as AccessRole, agentId: v['agent-id'] ?? null, digest, createdBy: actor, expiresAt: v.expires ? new Date(v.expires) : null }, { actor, action: 'POST /keys', target: '-' });
      io.stdout.write(`${JSON.stringify({ ...info, key }, null, 2)}\n`);
      io.stderr.write('The key is shown only now; store it where its system reads secrets.\n');
      return 0;
    }
    if (kind === 'keys') {
      const id = parsed.positionals[0]!;
      if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFound(`no live key ${id}`);
      const before = await store.revokeKey(id, { actor, action: 'DELETE /keys/:id', target: `id=${id}` });
      if (!before) throw new NotFound(`no live key ${id}`);
      io.stdout.write(`revoked ${id} (${before.name})\n`);
      return 0;
    }
    const password = (await io.readLine()).replace(/\r?\n$/, '');
    if (password.length < 12 || password.length > 256) {
      io.stderr.write('hotline users: the password on stdin must be 12 to 256 characters\n');
      return 2;
    }
    const user = await store.createUser({ username: v.username!, role: v.role as AccessRole, agentId: v['agent-id'] ?? null, passwordHash: await hashPassword(password), createdBy: actor }, { actor, action: 'POST /users', target: '-' });
    if (!user) {
      io.stderr.write(`hotline users: user ${v.username} exists\n`);
      return 1;
    }
    io.stdout.write(`${JSON.stringify(user)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof NotFound) {
      io.stderr.write(`hotline keys: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await pool.end();
  }
}

class NotFound extends Error {}
