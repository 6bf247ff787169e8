const USAGE = `usage: hotline <command>
  start     start the hotline (ARI app + HTTP API)
  migrate   apply database migrations and exit
  flows     validate | graph | schema | simulate IVR flows (hotline flows help)
  capacity  Erlang C agents needed per interval (hotline capacity --help)
  reports   rebuild call summaries and report rollups from stored events (hotline reports rebuild)
  keys      create | revoke API keys (hotline keys create --role admin --name ci)
  users     create a user for login (hotline users create --username ana --role agent --agent-id 1001 < password)`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  if (command === 'flows') {
    // Loaded on demand: the flows tools need no configuration, database, Redis or Asterisk.
    const { flowsCommand } = await import('./flows-command.ts');
    const code = await flowsCommand(argv.slice(1), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() });
    await new Promise<void>((done) => process.stdout.write('', () => done()));
    return code;
  }
  if (command === 'capacity') {
    const { capacityCommand } = await import('./capacity-command.ts');
    const code = capacityCommand(argv.slice(1), { stdout: process.stdout, stderr: process.stderr });
    await new Promise<void>((done) => process.stdout.write('', () => done()));
    return code;
  }
  if (command !== 'start' && command !== 'migrate' && command !== 'reports' && command !== 'keys' && command !== 'users') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const { ConfigError, loadConfig } = await import('../config/config.ts');
  const { createLogger } = await import('../log/logger.ts');
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
    const { createPool } = await import('../records/db.ts');
    const { migrate } = await import('../records/migrate.ts');
    const pool = createPool(config.databaseUrl, () => undefined);
    try {
      const applied = await migrate(pool);
      log.info({ applied }, applied.length ? 'migrations applied' : 'database is up to date');
      return 0;
    } finally {
      await pool.end();
    }
  }

  if (command === 'keys' || command === 'users') {
    const { accessCommand } = await import('./access-command.ts');
    const { createInterface } = await import('node:readline');
    const readLine = () => new Promise<string>((done) => createInterface({ input: process.stdin }).once('line', done).once('close', () => done('')));
    return accessCommand(command, argv.slice(1), config, { stdout: process.stdout, stderr: process.stderr, readLine });
  }

  if (command === 'reports') {
    const { reportsCommand } = await import('./reports-command.ts');
    const { configuredKpi } = await import('./kpi-config.ts');
    const kpi = () => configuredKpi({ kpi: config.kpi, flowsDir: config.flowsDir, redis: config.redis });
    return reportsCommand(argv.slice(1), { ...config, kpi }, { stdout: process.stdout, stderr: process.stderr });
  }

  const { startHotline } = await import('../main.ts');
  const { isAriSpecLoadFailure } = await import('../telephony/ari/ari-telephony.ts');
  // Any other uncaught exception is a bug: log it and exit so a supervisor restarts us.
  process.on('uncaughtException', (err) => {
    if (isAriSpecLoadFailure(err)) {
      log.warn({ err: String(err) }, 'ARI not ready yet (API description failed to load); reconnecting');
      return;
    }
    log.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  const hotline = await startHotline(config, log);
  await hotline.listen();
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
