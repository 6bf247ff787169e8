import { parseArgs } from 'node:util';
import { thresholdsOf, type KpiOptions } from '../kpi/kpis.ts';
import { createPool } from '../records/db.ts';
import { migrate } from '../records/migrate.ts';
import { rebuildCalls, rebuildRollups } from '../records/report-rebuild.ts';
import { ReportStore } from '../records/report-store.ts';

export const REPORTS_USAGE = `usage: hotline reports rebuild --from <when> --to <when> [--calls-only | --rollups-only]
  Folds again the calls with events in the range (calls recorded before migration 005 have no
  summary yet) and recomputes the 15-minute rollups of the calls that started in it.
  <when>: a local date or date-time in HOTLINE_TIMEZONE (2025-03-01, 2025-03-01T08:00) or an
  instant with an offset; on 15-minute boundaries. Safe beside running app instances: the
  rollup step holds their event writes (they wait in Redis) while it runs. Service level and
  short abandons count with the thresholds configured now (SERVICE_LEVEL_SECONDS,
  SHORT_ABANDON_SECONDS, each queue's own): run it after changing them to restate history.
`;

export interface ReportsIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
}

/** `hotline reports rebuild ...`; returns the exit code. */
export async function reportsCommand(
  argv: readonly string[],
  env: { databaseUrl: string; timezone: string; kpi?: () => Promise<{ kpi: KpiOptions; from: string }> },
  io: ReportsIo,
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv.slice(1)],
      strict: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        'calls-only': { type: 'boolean', default: false },
        'rollups-only': { type: 'boolean', default: false },
      },
    }));
    if (argv[0] !== 'rebuild') throw new Error(argv[0] ? `unknown subcommand ${argv[0]}` : 'a subcommand is required');
    if (!values.from || !values.to) throw new Error('--from and --to are required');
    if (values['calls-only'] && values['rollups-only']) throw new Error('--calls-only and --rollups-only exclude each other');
  } catch (err) {
    io.stderr.write(`hotline reports: ${(err as Error).message}\n${REPORTS_USAGE}`);
    return 2;
  }
  const pool = createPool(env.databaseUrl, () => undefined);
  try {
    await migrate(pool);
    const range = await new ReportStore(pool).resolveRange(values.from, values.to, env.timezone);
    if (!(range.from < range.to)) throw new Error('--from must be before --to');
    const { kpi, from } = env.kpi ? await env.kpi() : { kpi: {}, from: 'defaults' };
    io.stdout.write(`thresholds (${from}): ${describeKpi(kpi)}\n`);
    if (!values['rollups-only']) {
      const r = await rebuildCalls(pool, range, kpi, (n) => io.stdout.write(`  ${n} calls folded\r`));
      io.stdout.write(`calls: ${r.calls} folded again, ${r.changed} changed\n`);
    }
    if (!values['calls-only']) {
      const r = await rebuildRollups(pool, range, kpi);
      io.stdout.write(`rollups: ${r.rows} rows from ${r.calls} calls\n`);
    }
    return 0;
  } catch (err) {
    io.stderr.write(`hotline reports: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await pool.end();
  }
}

/** `T 20 s, short 5 s; vip: T 10 s, short 2 s` */
function describeKpi(kpi: KpiOptions): string {
  const one = (queue: string | null) => {
    const t = thresholdsOf({ queue }, kpi);
    return `T ${t.serviceLevelSeconds} s, short ${t.shortAbandonSeconds} s`;
  };
  return [one(null), ...Object.keys(kpi.perQueue ?? {}).map((q) => `${q}: ${one(q)}`)].join('; ');
}
