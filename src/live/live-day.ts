/**
 * The hotline's calendar day, in its own time zone (HOTLINE_TIMEZONE): "today's" counters are
 * the calls that started on that day there, whatever the server's zone.
 */

const formats = new Map<string, Intl.DateTimeFormat>();

function format(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formats.set(timeZone, f);
  }
  return f;
}

function parts(atMs: number, timeZone: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of format(timeZone).formatToParts(atMs)) out[p.type] = p.value;
  return out;
}

/** `YYYY-MM-DD` of the instant in `timeZone`. */
export function dayOf(atMs: number, timeZone: string): string {
  const p = parts(atMs, timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}

/**
 * Milliseconds until the next day starts in `timeZone`, at least one second. On a day with a
 * daylight-saving jump the answer is an hour off; the caller re-checks the day when it fires.
 */
export function msUntilNextDay(nowMs: number, timeZone: string): number {
  const p = parts(nowMs, timeZone);
  const intoDay = ((Number(p.hour) * 60 + Number(p.minute)) * 60 + Number(p.second)) * 1000 + (nowMs % 1000);
  return Math.max(1_000, 86_400_000 - intoDay);
}
