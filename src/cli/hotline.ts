import { ConfigError, loadConfig } from '../config/config.ts';
import { createLogger } from '../log/logger.ts';
import { startHotline } from '../main.ts';
import { createPool } from '../records/db.ts';
import { migrate } from '../records/migrate.ts';

const USAGE = `usage: hotline <command>
  start     start the hotline (ARI app + HTTP API)
  migrate   apply database migrations and exit`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  if (command !== 'start' && command !== 'migrate') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hotline: ${err.message}\n`);
      return 78; // EX_CONFIG
    }
    throw err;
  }
  const log = createLogger(config.logLevel);

  if (command === 'migrate') {
    const pool = createPool(config.databaseUrl, () => undefined);
    try {
      const applied = await migrate(pool);
      log.info({ applied }, applied.length ? 'migrations applied' : 'database is up to date');
      return 0;
    } finally {
      await pool.end();
    }
  }

  const hotline = await startHotline(config, log);
  await hotline.app.listen({ host: config.http.host, port: config.http.port });
  let signals = 0;
  const stop = (signal: string) => {
    signals += 1;
    if (signals > 1) process.exit(130);
    void hotline.shutdown(signal).then(() => process.exit(0), (err) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  return -1; // keep running
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    process.stderr.write(`hotline: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
