import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';
import './provided.ts';

/**
 * Decides once where Postgres and Redis come from:
 *   TEST_DATABASE_URL / TEST_REDIS_URL when set; otherwise testcontainers when a Docker engine
 *   answers; otherwise the local services (scripts/lab/provision.sh installs and starts them).
 * Every run gets its own database and Redis key prefix, so runs never see each other's data.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cleanups: Array<() => Promise<void>> = [];
  let baseUrl = process.env.TEST_DATABASE_URL;
  let redisUrl = process.env.TEST_REDIS_URL;
  let services: 'local' | 'testcontainers' | 'env' = baseUrl || redisUrl ? 'env' : 'local';

  if (!baseUrl && !redisUrl && dockerAnswers()) {
    const { GenericContainer, Wait } = await import('testcontainers');
    const pgC = await new GenericContainer('postgres:17')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    const redisC = await new GenericContainer('redis:7').withExposedPorts(6379).start();
    baseUrl = `postgres://postgres@${pgC.getHost()}:${pgC.getMappedPort(5432)}/test`;
    redisUrl = `redis://${redisC.getHost()}:${redisC.getMappedPort(6379)}`;
    services = 'testcontainers';
    cleanups.push(async () => {
      await pgC.stop();
      await redisC.stop();
    });
  }
  baseUrl ??= 'postgres://postgres@127.0.0.1:5432/test';
  redisUrl ??= 'redis://127.0.0.1:6379';

  const runId = `${project.name}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`.replace(/-/g, '_');
  const dbName = `hotline_t_${runId}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`Postgres is not reachable at ${redact(baseUrl)} (${(err as Error).message}); run scripts/lab/provision.sh or set TEST_DATABASE_URL`);
  }
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const dbUrl = new URL(baseUrl);
  dbUrl.pathname = `/${dbName}`;

  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis is not reachable at ${redisUrl} (${(err as Error).message}); run scripts/lab/provision.sh or set TEST_REDIS_URL`);
  }
  const prefix = `hotline:t:${runId}:`;

  project.provide('databaseUrl', dbUrl.toString());
  project.provide('redisUrl', redisUrl);
  project.provide('redisPrefix', prefix);
  project.provide('services', services);

  return async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    const a = new pg.Client({ connectionString: baseUrl });
    await a.connect();
    await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await a.end();
    for (const c of cleanups) await c();
  };
}

function dockerAnswers(): boolean {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 1_000 });
    return true;
  } catch {
    return false;
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@]*@/, '//***@');
}
