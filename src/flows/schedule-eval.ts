import type { NodeOf } from './schema.ts';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** open / closed / holiday for `now` in the node's time zone. Pure: the clock is an argument. */
export function scheduleOutcome(node: NodeOf<'schedule'>, now: Date): 'open' | 'closed' | 'holiday' {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: node.timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'short',
      hourCycle: 'h23',
    })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  const time = `${parts.hour}:${parts.minute}`;
  const special = node.special[date];
  if (!special && node.holidays.includes(date)) return 'holiday';
  const weekday = DAYS[new Date(`${date}T12:00:00Z`).getUTCDay()]!;
  const ranges = special ?? node.weekly[weekday] ?? [];
  return ranges.some(([from, to]) => time >= from && time < to) ? 'open' : 'closed';
}
