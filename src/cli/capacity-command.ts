import { parseArgs } from 'node:util';
import { staffingTable, type IntervalStaffing, type StaffingTarget } from '../capacity/erlang-c.ts';

/** `hotline capacity ...`: Erlang C staffing per interval. Pure arithmetic: no configuration or services. */

export const CAPACITY_USAGE = `usage: hotline capacity --calls <n[,n...]> --aht <seconds> [--interval-minutes 30]
                       [--target 80/20] [--shrinkage 0.3] [--max-occupancy 0.85] [--json]
  --calls            calls offered per interval; a comma-separated list gives one row per interval
  --aht              average handle time in seconds (talk + hold + wrap-up)
  --target           <percent>/<seconds>: share of calls to answer within that many seconds
  --shrinkage        share of paid time off the phones; "scheduled" = agents / (1 - shrinkage)
  --max-occupancy    never plan agents busier than this share of their time
`;

export interface CapacityIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
}

export function capacityCommand(argv: readonly string[], io: CapacityIo): number {
  let rows: IntervalStaffing[];
  let json: boolean;
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        calls: { type: 'string' },
        aht: { type: 'string' },
        'interval-minutes': { type: 'string', default: '30' },
        target: { type: 'string', default: '80/20' },
        shrinkage: { type: 'string' },
        'max-occupancy': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stdout.write(CAPACITY_USAGE);
      return 0;
    }
    if (values.calls === undefined || values.aht === undefined) throw new RangeError('--calls and --aht are required');
    const calls = values.calls.split(',').map((c) => number('--calls', c));
    const target = parseTarget(values.target);
    const full: StaffingTarget = {
      ...target,
      shrinkage: values.shrinkage === undefined ? undefined : number('--shrinkage', values.shrinkage),
      maxOccupancy: values['max-occupancy'] === undefined ? undefined : number('--max-occupancy', values['max-occupancy']),
    };
    rows = staffingTable(calls, number('--interval-minutes', values['interval-minutes']), number('--aht', values.aht), full);
    json = values.json;
  } catch (err) {
    io.stderr.write(`hotline capacity: ${(err as Error).message}\n${CAPACITY_USAGE}`);
    return 2;
  }
  io.stdout.write(json ? `${JSON.stringify(rows, null, 2)}\n` : formatTable(rows));
  return 0;
}

/** `80/20` -> 80 % within 20 s. */
export function parseTarget(text: string): { serviceLevel: number; targetSeconds: number } {
  const m = /^(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/.exec(text);
  if (!m) throw new RangeError(`--target must look like 80/20 (percent/seconds), got ${text}`);
  return { serviceLevel: Number(m[1]) / 100, targetSeconds: Number(m[2]) };
}

export function formatTable(rows: readonly IntervalStaffing[]): string {
  const head = ['interval', 'calls', 'erlangs', 'agents', 'scheduled', 'SL %', 'ASA s', 'occupancy %', 'P(wait) %'];
  const body = rows.map((r, i) => [
    String(i + 1),
    fmt(r.calls, 1),
    fmt(r.load, 2),
    String(r.agents),
    String(r.scheduled),
    fmt(r.serviceLevel * 100, 1),
    fmt(r.asaSeconds, 1),
    fmt(r.occupancy * 100, 1),
    fmt(r.probabilityOfWaiting * 100, 1),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, c) => cell.padStart(widths[c]!)).join('  ');
  return [line(head), ...body.map(line)].join('\n') + '\n';
}

function fmt(n: number, digits: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

function number(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new RangeError(`${flag} must be a number, got ${JSON.stringify(text)}`);
  return n;
}
