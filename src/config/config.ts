import { z } from 'zod';

/** Comma-separated list in an env var, e.g. `HOTLINE_NUMBERS=10010,10086`. */
const csv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const ms = (def: number) => z.coerce.number().int().min(1).max(3_600_000).default(def);

/**
 * Every setting Hotline reads, from the environment, with defaults. This module is the only
 * reader of `process.env`; everything else receives a `Config`.
 */
const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3000),

  ARI_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8088'),
  ARI_USER: z.string().min(1).default('hotline'),
  ARI_PASSWORD: z.string().min(1, 'ARI_PASSWORD is required (the ari.conf user password)'),
  ARI_APP: z.string().regex(/^[A-Za-z0-9_-]+$/).default('hotline'),
  ARI_CONNECT_TIMEOUT_MS: ms(5_000),
  ARI_PING_INTERVAL_MS: ms(5_000),
  ARI_RECONNECT_MAX_MS: ms(30_000),

  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').default('postgres://postgres@127.0.0.1:5432/hotline'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]*$/).default('hotline:'),

  /** Dialed numbers (DNIS) this hotline answers; any other number hears "not in service". */
  HOTLINE_NUMBERS: csv.default(['10010', '10086']),
  DIGIT_TIMEOUT_MS: ms(5_000),
  SHUTDOWN_DRAIN_MS: ms(10_000),
  MIGRATE_ON_START: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
});

export type Config = Readonly<{
  env: 'development' | 'production' | 'test';
  logLevel: string;
  http: { host: string; port: number };
  ari: {
    url: string;
    user: string;
    password: string;
    app: string;
    connectTimeoutMs: number;
    pingIntervalMs: number;
    reconnectMaxMs: number;
  };
  databaseUrl: string;
  redis: { url: string; prefix: string };
  hotlineNumbers: readonly string[];
  digitTimeoutMs: number;
  shutdownDrainMs: number;
  migrateOnStart: boolean;
}>;

export class ConfigError extends Error {
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.issues = issues;
    this.name = 'ConfigError';
  }
}

/** Parses the environment; a bad value throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT },
    ari: {
      url: e.ARI_URL,
      user: e.ARI_USER,
      password: e.ARI_PASSWORD,
      app: e.ARI_APP,
      connectTimeoutMs: e.ARI_CONNECT_TIMEOUT_MS,
      pingIntervalMs: e.ARI_PING_INTERVAL_MS,
      reconnectMaxMs: e.ARI_RECONNECT_MAX_MS,
    },
    databaseUrl: e.DATABASE_URL,
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    hotlineNumbers: e.HOTLINE_NUMBERS,
    digitTimeoutMs: e.DIGIT_TIMEOUT_MS,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    migrateOnStart: e.MIGRATE_ON_START,
  };
}
