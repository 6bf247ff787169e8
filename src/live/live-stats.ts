import type { Redis } from 'ioredis';
import type { CallEvent } from '../domain/call-event.ts';
import type { OpsEvent } from '../domain/ops-event.ts';
import type { CallSummary } from '../kpi/call-summary.ts';
import { kpiOptionsFor } from '../kpi/kpi-options.ts';
import { DEFAULT_SERVICE_LEVEL_SECONDS, DEFAULT_SHORT_ABANDON_SECONDS, type KpiOptions, type KpiThresholds } from '../kpi/kpis.ts';
import type { Logger } from '../log/logger.ts';
import type { QueueConfig } from '../routing/types.ts';
import { Coalescer, realTimers, type CoalescerTimers } from './coalescer.ts';
import { LIVE_CALL_EVENTS, reduceLiveCall, sameLiveState, type LiveCallState } from './live-call.ts';
import { dayOf, msUntilNextDay } from './live-day.ts';
import { buildSnapshot, type LiveEmergency, type LiveSnapshot } from './live-snapshot.ts';
import type { LiveStore } from './live-store.ts';

export interface LiveStatsDeps {
  store: LiveStore;
  /** The queues configured now (they change at run time). */
  queues(): readonly QueueConfig[];
  /** A connection of its own for SUBSCRIBE (a subscribed connection can do nothing else). */
  subscriber: Redis;
  /** The hotline's time zone: "today" starts at its midnight. */
  timeZone: string;
  /** The defaults (SERVICE_LEVEL_SECONDS, SHORT_ABANDON_SECONDS); a queue's own thresholds come from `queues()`. */
  kpi?: KpiThresholds;
  log: Logger;
  now(): number;
  /** Pushes to listeners at most this often. Default 200 ms. */
  minIntervalMs?: number;
  timers?: CoalescerTimers;
  /** Emergency mode as this process knows it; its ops events announce the change. */
  emergency?(): LiveEmergency | null;
}

/** A call this process is following: its summary, and the contribution last written for it. */
interface CallSlot {
  summary: CallSummary | null;
  written: LiveCallState | null;
  /** Events that came while the summary was being loaded from Redis; null once loaded. */
  backlog: CallEvent[] | null;
  touched: number;
}

export type LiveListener = (snapshot: LiveSnapshot) => void;

const SWEEP_EVERY_CALLS = 1_000;
const SLOT_IDLE_MS = 12 * 3_600_000;

/**
 * Live stats: fed by every appended call and ops event (main.ts tees the event sinks here),
 * kept in Redis so all instances share today's counters and a restart loses nothing, and read
 * back whenever any instance announces a change (Redis pub/sub: no polling, no Postgres).
 * Waiting calls and agents by state are counted from routing's keys in Redis at that moment.
 *
 * A call's events are produced by the instance that owns the call, in order; this process
 * folds them (live-call.ts), writes the call's contribution when it changed, and after a
 * restart resumes a call from the summary it stored. Listeners get a fresh snapshot after
 * changes, at most every `minIntervalMs`.
 */
export class LiveStats {
  private readonly deps: LiveStatsDeps;
  private readonly kpi: Required<KpiThresholds>;
  private readonly calls = new Map<string, CallSlot>();
  private readonly listeners = new Set<LiveListener>();
  private readonly coalescer: Coalescer;
  private readonly timers: CoalescerTimers;
  /** A read under way, and the change count when it started. */
  private inFlight: Promise<{ snapshot: LiveSnapshot; changes: number }> | null = null;
  /** Changes announced so far: a read that started before the latest one is not the latest. */
  private changes = 0;
  private newCalls = 0;
  private midnight: { cancel(): void } | null = null;
  private closed = false;
  /** Events seen by kind, and snapshots built: process counters for /metrics. */
  readonly seen = { call: 0, ops: 0, refreshes: 0, writeFailures: 0 };

  constructor(deps: LiveStatsDeps) {
    this.deps = deps;
    this.kpi = {
      serviceLevelSeconds: deps.kpi?.serviceLevelSeconds ?? DEFAULT_SERVICE_LEVEL_SECONDS,
      shortAbandonSeconds: deps.kpi?.shortAbandonSeconds ?? DEFAULT_SHORT_ABANDON_SECONDS,
    };
    this.timers = deps.timers ?? realTimers;
    this.coalescer = new Coalescer(() => this.push(), deps.minIntervalMs ?? 200, this.timers);
  }

  /** Follows other instances' changes and the day's end. Not awaited by startup: ioredis resubscribes after a Redis outage. */
  async start(): Promise<void> {
    const sub = this.deps.subscriber;
    // The app's main connection already reports Redis outages; this one only must not throw.
    sub.on('error', (err: Error) => this.deps.log.debug({ err: err.message }, 'live subscriber error'));
    sub.on('message', (channel: string) => {
      if (channel === this.deps.store.channel) this.changed();
    });
    // After a reconnect, changes announced meanwhile were missed: read everything again.
    sub.on('ready', () => this.changed());
    this.scheduleMidnight();
    await sub.subscribe(this.deps.store.channel);
  }

  close(): void {
    this.closed = true;
    this.coalescer.close();
    this.midnight?.cancel();
    this.listeners.clear();
  }

  /** A call event was appended (called by the tee, synchronously: never throws, never waits). */
  recordCall(event: CallEvent): void {
    this.seen.call += 1;
    if (this.closed || !LIVE_CALL_EVENTS.has(event.type)) return;
    let slot = this.calls.get(event.callId);
    if (!slot) {
      slot = { summary: null, written: null, backlog: null, touched: this.deps.now() };
      this.calls.set(event.callId, slot);
      this.sweep();
      // A call this process has not seen start may have been followed before a restart.
      if (event.type !== 'call.started' || event.data.recovered === true) {
        slot.backlog = [event];
        void this.resume(event.callId, slot);
        return;
      }
    }
    if (slot.backlog) slot.backlog.push(event);
    else this.step(event.callId, slot, event);
  }

  /** An ops event was appended: agent states and routing changes show in the next snapshot. */
  recordOps(event: OpsEvent): void {
    this.seen.ops += 1;
    if (this.closed) return;
    this.deps.store.announce(event.type).catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'live change not announced'));
  }

  /** A snapshot read now (shared with a read already under way). */
  async snapshot(): Promise<LiveSnapshot> {
    return (await this.read()).snapshot;
  }

  /** Calls `listener` with a fresh snapshot after every change (coalesced); returns the unsubscribe. */
  onChange(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  private step(callId: string, slot: CallSlot, event: CallEvent): void {
    const { summary, state } = reduceLiveCall(slot.summary, event, { timeZone: this.deps.timeZone, kpi: this.kpiNow() });
    slot.summary = summary;
    slot.touched = this.deps.now();
    if (summary.phase === 'ended') this.calls.delete(callId);
    if (slot.written && sameLiveState(slot.written, state)) {
      // Nothing of the call's own changed, but routing did (an offer, a ring-no-answer).
      void this.deps.store.announce(callId).catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'live change not announced'));
      return;
    }
    slot.written = state;
    this.deps.store.apply(callId, summary, state, this.deps.now()).catch((err) => {
      this.seen.writeFailures += 1;
      // The write is absolute (the call's whole contribution), so the call's next event repairs it.
      if (slot.written === state) slot.written = null;
      this.deps.log.warn({ err: (err as Error).message, callId }, 'live stats not written');
    });
  }

  private async resume(callId: string, slot: CallSlot): Promise<void> {
    try {
      slot.summary = await this.deps.store.loadCall(callId);
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message, callId }, 'live call state not read; counting from this event on');
    }
    const backlog = slot.backlog ?? [];
    slot.backlog = null;
    for (const e of backlog) this.step(callId, slot, e);
  }

  /** Forgets calls not heard of for hours (lost without call.ended); Redis still holds them. */
  private sweep(): void {
    if (++this.newCalls % SWEEP_EVERY_CALLS !== 0) return;
    const before = this.deps.now() - SLOT_IDLE_MS;
    for (const [id, slot] of this.calls) if (slot.touched < before && !slot.backlog) this.calls.delete(id);
  }

  private changed(): void {
    this.changes += 1;
    if (this.listeners.size) this.coalescer.poke();
  }

  /** Coalesced: reads and hands the snapshot to every listener; again if it may have missed a change. */
  private async push(): Promise<void> {
    if (!this.listeners.size) return;
    let read: { snapshot: LiveSnapshot; changes: number };
    try {
      read = await this.read();
    } catch (err) {
      // Redis is away; its return ('ready' on the subscriber) is a change and pushes again.
      this.deps.log.warn({ err: (err as Error).message }, 'live snapshot not read');
      return;
    }
    for (const l of this.listeners) {
      try {
        l(read.snapshot);
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'live listener failed');
      }
    }
    // The read was shared with one started before the latest change (a GET): push once more.
    if (this.changes > read.changes) this.coalescer.poke();
  }

  private read(): Promise<{ snapshot: LiveSnapshot; changes: number }> {
    this.inFlight ??= this.refresh(this.changes).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** The defaults with the queues' own thresholds as configured now (a queue edit counts from the next event on). */
  private kpiNow(): KpiOptions {
    return kpiOptionsFor(this.kpi, this.deps.queues());
  }

  private async refresh(changes: number): Promise<{ snapshot: LiveSnapshot; changes: number }> {
    const now = this.deps.now();
    const day = dayOf(now, this.deps.timeZone);
    const configured = this.deps.queues();
    const queues = configured.map((q) => q.name);
    const [today, floor] = await Promise.all([this.deps.store.readDay(day, now), this.deps.store.readFloor(queues)]);
    const snapshot = buildSnapshot({
      now,
      day,
      timeZone: this.deps.timeZone,
      serviceLevelSeconds: this.kpi.serviceLevelSeconds,
      shortAbandonSeconds: this.kpi.shortAbandonSeconds,
      perQueue: kpiOptionsFor(this.kpi, configured).perQueue,
      counters: today.counters,
      phases: today.phases,
      queues,
      floor,
      emergency: this.deps.emergency?.() ?? null,
    });
    this.seen.refreshes += 1;
    return { snapshot, changes };
  }

  /** At the hotline's midnight "today" is a new day even if nothing happens. */
  private scheduleMidnight(): void {
    if (this.closed) return;
    this.midnight = this.timers.setTimeout(() => {
      this.changed();
      this.scheduleMidnight();
    }, msUntilNextDay(this.deps.now(), this.deps.timeZone));
  }
}
