/**
 * The simplest forecast that respects a contact centre's weekly rhythm: a Monday looks like the
 * last few Mondays, interval by interval. No trend, no holidays; enough to start staffing.
 */

/**
 * Mean per interval over several days' counts (each row: one day, one count per interval).
 * A day with fewer intervals (history that starts mid-day) is left out of the intervals it lacks.
 */
export function averagePerInterval(days: readonly (readonly number[])[]): number[] {
  const length = Math.max(0, ...days.map((d) => d.length));
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    const values = days.map((d) => d[i]).filter((v): v is number => v !== undefined);
    out.push(values.reduce((a, b) => a + b, 0) / values.length);
  }
  return out;
}

export interface WeekdayForecast {
  /** Expected calls per interval of `day`. */
  readonly calls: number[];
  /** The past days averaged (same weekday), newest first; weeks with no history are skipped. */
  readonly basedOn: string[];
}

/**
 * Same-weekday forecast for `day` (YYYY-MM-DD): the per-interval mean of day − 7, day − 14, …,
 * day − 7·weeks, from `history` (YYYY-MM-DD -> counts per interval, local days as the report
 * module groups them). Days are calendar dates, so the forecast ignores time zones and DST.
 */
export function sameWeekdayForecast(history: ReadonlyMap<string, readonly number[]>, day: string, weeks: number): WeekdayForecast {
  if (!Number.isInteger(weeks) || weeks < 1) throw new RangeError('weeks must be a whole number >= 1');
  const base = parseDay(day);
  const basedOn: string[] = [];
  const rows: (readonly number[])[] = [];
  for (let w = 1; w <= weeks; w++) {
    const past = formatDay(new Date(base - w * 7 * 86_400_000));
    const counts = history.get(past);
    if (!counts) continue;
    basedOn.push(past);
    rows.push(counts);
  }
  return { calls: averagePerInterval(rows), basedOn };
}

function parseDay(day: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || formatDay(new Date(t)) !== day) throw new RangeError(`not a calendar day (YYYY-MM-DD): ${day}`);
  return t;
}

function formatDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
