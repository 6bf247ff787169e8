import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Keeps the last 4 digits of a phone number: enough to tell calls apart in logs, not enough
 * to identify a caller.
 */
export function maskNumber(number: string | undefined | null): string {
  if (!number) return '';
  const digits = number.replace(/\D/g, '');
  if (digits.length <= 4) return '*'.repeat(digits.length);
  return '*'.repeat(digits.length - 4) + digits.slice(-4);
}

/** Secrets and connection strings that must never reach a log line, wherever they appear. */
const REDACT = [
  'password',
  '*.password',
  'config.ari.password',
  'config.databaseUrl',
  'config.redis.url',
  'config.apiTokens',
  'databaseUrl',
  'redisUrl',
  'req.headers.authorization',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: 'hotline' }, redact: { paths: REDACT, censor: '[redacted]' } },
    destination,
  );
}
