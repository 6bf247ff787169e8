import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

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

  /** Folder of flow JSON files, the prompt catalog, queues and the number map. */
  FLOWS_DIR: z.string().min(1).default(fileURLToPath(new URL('../../ivr-flows', import.meta.url))),
  /**
   * Services that `http` nodes may call, as name=baseUrl pairs: the base URL never comes from
   * a flow or a caller. Default: the demo CRM that Hotline itself serves when DEMO_CRM=true.
   */
  HTTP_SERVICES: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const out: Record<string, string> = {};
      for (const pair of s.split(',').map((x) => x.trim()).filter(Boolean)) {
        const m = /^([a-z][a-z0-9_-]{0,31})=(https?:\/\/\S+)$/.exec(pair);
        if (!m) {
          ctx.addIssue({ code: 'custom', message: `"${pair}" is not name=http(s)://url` });
          return z.NEVER;
        }
        out[m[1]!] = m[2]!.replace(/\/$/, '');
      }
      return out;
    }),
  DEMO_CRM: z.enum(['true', 'false']).optional(),
  DEMO_CRM_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  /** Starts the clock at this instant (ISO-8601) for demos and tests of business hours. */
  CLOCK_FIXED_AT: z.iso.datetime({ offset: true }).optional(),
  SMS_SENDER: z.enum(['log', 'webhook']).default('log'),
  /** `role:token` pairs for the HTTP API (admin, supervisor, agent); empty locks every protected route. */
  API_TOKENS: z.string().default(''),
  /** HS256 secret of login JWTs (32+ characters); unset → POST /auth/login is off. */
  JWT_SECRET: z.string().min(32).optional(),
  /** Requests per minute per API key, user or env token; 0 turns the limit off. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(1_200),
  /** Requests per minute per client IP without valid credentials (login included); 0 turns it off. */
  RATE_LIMIT_IP_PER_MINUTE: z.coerce.number().int().min(0).default(120),
  SMS_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  SHUTDOWN_DRAIN_MS: ms(10_000),
  MIGRATE_ON_START: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /**
   * Where events go while Redis is unreachable (fsynced, replayed when it is back). Must be a
   * persistent disk (not tmpfs): it is the only copy of those events until the replay.
   */
  EVENT_SPOOL_DIR: z.string().min(1).default(fileURLToPath(new URL('../../var/event-spool', import.meta.url))),
  /** Days of raw call events kept (whole day partitions are dropped); 0 keeps them all. */
  EVENT_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(0),
  /** Days of `calls` rows kept (by the call's start); 0 keeps them all. Applied with EVENT_RETENTION_DAYS, hourly. */
  CALL_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(0),
  /** Days of report rollup rows kept (by bucket); 0 keeps them all. */
  ROLLUP_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(0),
  /** Service level threshold T in seconds (answered within T), for queues that set none of their own. */
  SERVICE_LEVEL_SECONDS: z.coerce.number().int().min(1).max(3600).default(20),
  /** Abandons after a shorter wait than this are short abandons, counted apart; for queues that set none. */
  SHORT_ABANDON_SECONDS: z.coerce.number().int().min(0).max(600).default(5),
  /**
   * This app instance's name: it owns the callers whose channels it holds, and their routing
   * timers are its jobs. Stable across restarts (default: the host name), so a restarted
   * instance picks up its own pending timers.
   */
  INSTANCE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only').optional(),
  /** The hotline's own time zone: calls-today counters reset at its midnight. */
  HOTLINE_TIMEZONE: z.string().refine((tz) => { try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch { return false; } }, 'an IANA time zone such as Asia/Shanghai').default('Asia/Shanghai'),
  /** When set, GET /metrics wants it as a bearer token; otherwise /metrics is open. */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** Where a callback dials the caller; `{number}` is replaced by the caller's number. */
  CALLBACK_ENDPOINT: z.string().regex(/^[A-Za-z]+\/\S*\{number\}\S*$/, 'e.g. PJSIP/{number}@trunk').default('PJSIP/{number}@trunk'),
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
  flowsDir: string;
  httpServices: Readonly<Record<string, string>>;
  demoCrm: { port: number } | null;
  clockFixedAt: Date | null;
  sms: { sender: 'log' | 'webhook'; webhookUrl: string | null };
  apiTokens: string;
  jwtSecret: string | null;
  rateLimit: { perPrincipalPerMinute: number; perIpPerMinute: number };
  shutdownDrainMs: number;
  migrateOnStart: boolean;
  /** Retention in days (0 keeps everything): raw events, `calls` rows, report rollups. */
  events: { spoolDir: string; retentionDays: number; callRetentionDays: number; rollupRetentionDays: number };
  /** KPI thresholds of queues that set none of their own. */
  kpi: { serviceLevelSeconds: number; shortAbandonSeconds: number };
  instanceId: string;
  callbackEndpoint: string;
  timezone: string;
  metricsToken: string | null;
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
  if (e.SMS_SENDER === 'webhook' && !e.SMS_WEBHOOK_URL) throw new ConfigError(['SMS_WEBHOOK_URL: required when SMS_SENDER=webhook']);
  const demoCrm = e.DEMO_CRM ? e.DEMO_CRM === 'true' : e.NODE_ENV !== 'production';
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
    flowsDir: e.FLOWS_DIR,
    demoCrm: demoCrm ? { port: e.DEMO_CRM_PORT } : null,
    // The demo CRM is served by Hotline itself (its own loopback port) unless configured away.
    httpServices: { ...(demoCrm ? { crm: `http://127.0.0.1:${e.DEMO_CRM_PORT}` } : {}), ...e.HTTP_SERVICES },
    clockFixedAt: e.CLOCK_FIXED_AT ? new Date(e.CLOCK_FIXED_AT) : null,
    sms: { sender: e.SMS_SENDER, webhookUrl: e.SMS_WEBHOOK_URL ?? null },
    apiTokens: e.API_TOKENS,
    jwtSecret: e.JWT_SECRET ?? null,
    rateLimit: { perPrincipalPerMinute: e.RATE_LIMIT_PER_MINUTE, perIpPerMinute: e.RATE_LIMIT_IP_PER_MINUTE },
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    migrateOnStart: e.MIGRATE_ON_START,
    events: {
      spoolDir: e.EVENT_SPOOL_DIR,
      retentionDays: e.EVENT_RETENTION_DAYS,
      callRetentionDays: e.CALL_RETENTION_DAYS,
      rollupRetentionDays: e.ROLLUP_RETENTION_DAYS,
    },
    kpi: { serviceLevelSeconds: e.SERVICE_LEVEL_SECONDS, shortAbandonSeconds: e.SHORT_ABANDON_SECONDS },
    instanceId: e.INSTANCE_ID ?? hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64),
    callbackEndpoint: e.CALLBACK_ENDPOINT,
    timezone: e.HOTLINE_TIMEZONE,
    metricsToken: e.METRICS_TOKEN ?? null,
  };
}
