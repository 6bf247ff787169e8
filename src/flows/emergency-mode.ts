import { randomUUID } from 'node:crypto';
import type { OpsEventSink } from '../domain/ops-event.ts';
import type { FlowStore } from '../records/flow-store.ts';
import { planEmergency, type EmergencyEntry, type EmergencyPlan, type EmergencyRequest } from './emergency-plan.ts';
import type { FlowRepository } from './flow-repository.ts';

export interface EmergencyStorage {
  load(): Promise<EmergencyEntry[]>;
  save(entries: readonly EmergencyEntry[]): Promise<void>;
  remove(numbers: readonly string[]): Promise<void>;
}

export interface EmergencyModeDeps {
  flows: FlowRepository;
  flowStore: FlowStore;
  store: EmergencyStorage;
  ops: OpsEventSink;
  /** After a change is stored: tells the other instances to reload (main.ts, over Redis); absent → one instance. */
  changed?: () => void;
  now(): number;
}

/** What GET /emergency and the live snapshot show. */
export interface EmergencyState {
  readonly active: boolean;
  readonly numbers: EmergencyEntry[];
}

export class EmergencyRefused extends Error {
  readonly plan: Extract<EmergencyPlan, { ok: false }>;
  constructor(plan: Extract<EmergencyPlan, { ok: false }>) {
    super(plan.message);
    this.name = 'EmergencyRefused';
    this.plan = plan;
  }
}

/**
 * Emergency mode: switches hotline numbers to an announcement flow through the number map
 * (new calls only: a running call resolved its flow when it started) and back. The remembered
 * previous flows are written before any number is switched, so a crash halfway still knows
 * where to go back. Changes run one at a time in this process; another instance's changes
 * arrive through `reload` (announced over Redis by `changed`).
 */
export class EmergencyMode {
  private readonly deps: EmergencyModeDeps;
  private entries: EmergencyEntry[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(deps: EmergencyModeDeps) {
    this.deps = deps;
  }

  /** Reads the stored state (at startup, after the flows are synced). */
  async load(): Promise<void> {
    this.entries = await this.deps.store.load();
  }

  /** Re-reads the stored state after another instance changed it; queued behind this instance's own changes. */
  reload(): Promise<void> {
    return this.serial(() => this.load());
  }

  state(): EmergencyState {
    return { active: this.entries.length > 0, numbers: [...this.entries] };
  }

  /** For the live snapshot: null when off; the first entry's flow and reason (one request sets all). */
  summary(): { flow: string; reason: string; numbers: string[]; since: string } | null {
    const first = this.entries[0];
    if (!first) return null;
    return { flow: first.flow, reason: first.reason, numbers: this.entries.map((e) => e.number), since: this.entries.map((e) => e.startedAt).sort()[0]! };
  }

  start(req: EmergencyRequest, who: string): Promise<{ state: EmergencyState; changed: boolean }> {
    return this.serial(async () => {
      const at = new Date(this.deps.now()).toISOString();
      const plan = planEmergency(this.entries, req, this.deps.flows.numberMap(), (id) => !!this.deps.flows.active(id), who, at);
      if (!plan.ok) throw new EmergencyRefused(plan);
      if (plan.changed) {
        await this.deps.store.save(plan.entries);
        for (const e of plan.entries) await this.deps.flows.mapNumber(this.deps.flowStore, e.number, e.flow, who);
        const touched = new Set(plan.entries.map((e) => e.number));
        this.entries = [...this.entries.filter((e) => !touched.has(e.number)), ...plan.entries].sort((a, b) => a.number.localeCompare(b.number));
        this.record('emergency.started', at, who, { flow: req.flow, reason: req.reason, numbers: plan.entries.map((e) => ({ number: e.number, previousFlow: e.previousFlow })) });
        this.deps.changed?.();
      }
      return { state: this.state(), changed: plan.changed };
    });
  }

  /** Every number back to its previous flow (unmapped again if it had none). */
  end(who: string): Promise<{ restored: Array<{ number: string; flow: string | null }> }> {
    return this.serial(async () => {
      const restored: Array<{ number: string; flow: string | null }> = [];
      for (const e of this.entries) {
        await this.deps.flows.mapNumber(this.deps.flowStore, e.number, e.previousFlow, who);
        restored.push({ number: e.number, flow: e.previousFlow });
      }
      if (!restored.length) return { restored };
      await this.deps.store.remove(restored.map((r) => r.number));
      this.entries = [];
      this.record('emergency.ended', new Date(this.deps.now()).toISOString(), who, { restored });
      this.deps.changed?.();
      return { restored };
    });
  }

  private record(type: 'emergency.started' | 'emergency.ended', at: string, who: string, data: Record<string, unknown>): void {
    this.deps.ops.append({ id: randomUUID(), type, at, subject: 'emergency', data: { by: who, ...data } });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
