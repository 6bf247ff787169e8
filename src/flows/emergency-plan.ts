/** A hotline number switched to an announcement flow, and the flow it goes back to. */
export interface EmergencyEntry {
  readonly number: string;
  readonly flow: string;
  /** The flow mapped before the switch; null when the number was not mapped. */
  readonly previousFlow: string | null;
  readonly reason: string;
  readonly startedBy: string;
  readonly startedAt: string;
}

export interface EmergencyRequest {
  readonly numbers: readonly string[];
  readonly flow: string;
  readonly reason: string;
}

export type EmergencyPlan =
  | { ok: true; entries: EmergencyEntry[]; changed: boolean }
  | { ok: false; error: 'emergency_unknown_flow' | 'emergency_unknown_number'; message: string; path: string };

/**
 * What a start request means given what is active (pure). A number already in emergency mode
 * keeps the previous flow remembered the first time, so a repeated or widened request never
 * makes "back" mean "the emergency flow". Unknown numbers are refused: a typo must not leave
 * the real hotline number running its normal flow while the admin thinks it is switched.
 */
export function planEmergency(
  active: readonly EmergencyEntry[],
  req: EmergencyRequest,
  numberMap: Readonly<Record<string, string>>,
  flowExists: (id: string) => boolean,
  who: string,
  now: string,
): EmergencyPlan {
  if (!flowExists(req.flow)) return { ok: false, error: 'emergency_unknown_flow', message: `unknown flow "${req.flow}"`, path: 'flow' };
  const byNumber = new Map(active.map((e) => [e.number, e]));
  const entries: EmergencyEntry[] = [];
  let changed = false;
  for (const [i, number] of [...new Set(req.numbers)].entries()) {
    const was = byNumber.get(number);
    if (was) {
      const next = { ...was, flow: req.flow, reason: req.reason };
      if (was.flow !== req.flow || was.reason !== req.reason) changed = true;
      entries.push(next);
      continue;
    }
    if (!(number in numberMap)) return { ok: false, error: 'emergency_unknown_number', message: `number ${number} is not a hotline number`, path: `numbers.${i}` };
    entries.push({ number, flow: req.flow, previousFlow: numberMap[number]!, reason: req.reason, startedBy: who, startedAt: now });
    changed = true;
  }
  return { ok: true, entries, changed };
}
