import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { LiveCounts, LiveSnapshot } from './live-snapshot.ts';
import type { LiveStats } from './live-stats.ts';

/** Today's counts as metric names (suffixes) and the snapshot fields they come from. */
const TODAY: ReadonlyArray<readonly [string, keyof LiveCounts, string]> = [
  ['offered', 'offered', 'inbound calls offered today'],
  ['agent_requests', 'agentRequests', 'calls that asked for an agent today'],
  ['reached_queue', 'reachedQueue', 'calls that joined a queue today'],
  ['answered', 'answered', 'calls answered by an agent today'],
  ['abandoned', 'abandoned', 'calls abandoned in queue today after the short-abandon time'],
  ['short_abandoned', 'shortAbandoned', 'calls abandoned in queue today before the short-abandon time'],
  ['answered_within_threshold', 'answeredWithinThreshold', 'calls answered within the service-level threshold today'],
  ['service_level_base', 'serviceLevelBase', 'calls that reached a queue today minus short abandons'],
];

/**
 * Prometheus metrics: the live snapshot's gauges (read from Redis at scrape time, so every
 * instance shows the same shared figures: aggregate across instances with max, not sum), this
 * process's own counters, and the standard process metrics (CPU, memory, event loop, GC).
 * Today's counts are gauges: they are shared by all instances and start again at 0 at the
 * hotline's midnight, which a Prometheus counter must not do.
 */
/** An event pipeline whose unwritten and unfolded entries are worth watching. */
export interface PipelineBacklog {
  readonly name: string;
  /** Entries in Redis not yet in Postgres. */
  backlog(): Promise<number>;
  /** Entries in Postgres not yet folded into summaries and rollups (0 without a fold stage). */
  foldBacklog(): Promise<number>;
}

export class LiveMetrics {
  readonly registry = new Registry();
  private readonly live: LiveStats;
  private readonly pipelines: readonly PipelineBacklog[];
  private readonly gauges = new Map<string, Gauge>();

  /**
   * `pipelines` are the event writers: the summary fold can fall behind the raw writer under a
   * sustained burst (by design: raw events first), and its backlog is how an operator sees it.
   */
  constructor(live: LiveStats, pipelines: readonly PipelineBacklog[] = []) {
    this.live = live;
    this.pipelines = pipelines;
    collectDefaultMetrics({ register: this.registry });
    const gauge = (name: string, help: string, labelNames: string[] = []) => {
      this.gauges.set(name, new Gauge({ name, help, labelNames, registers: [this.registry] }));
    };
    gauge('hotline_calls_in_ivr', 'inbound calls in the IVR flow (not queued, not talking)');
    gauge('hotline_calls_queued', 'inbound calls queued (waiting, or an agent ringing)');
    gauge('hotline_calls_talking', 'inbound calls talking to an agent');
    gauge('hotline_agents', 'agents by state', ['state']);
    gauge('hotline_queue_waiting_calls', 'calls waiting for an agent', ['queue']);
    gauge('hotline_queue_longest_wait_seconds', 'wait of the longest-waiting call (0 when none waits)', ['queue']);
    gauge('hotline_queue_agents', 'agents qualified for the queue, by state', ['queue', 'state']);
    for (const [suffix, , help] of TODAY) {
      gauge(`hotline_today_${suffix}`, help);
      gauge(`hotline_queue_today_${suffix}`, `${help}, by the call's last queue`, ['queue']);
    }
    gauge('hotline_today_service_level', 'answered within the threshold / (reached queue - short abandons), today');
    gauge('hotline_queue_today_service_level', 'service level today, by the call\'s last queue', ['queue']);
    gauge('hotline_live_websocket_clients', 'live-stats WebSocket clients of this instance');
    gauge('hotline_event_backlog', 'events in the Redis stream not yet written to Postgres', ['stream']);
    gauge('hotline_event_fold_backlog', 'events in Postgres not yet folded into summaries and rollups', ['stream']);

    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    const seen = live.seen;
    counter('hotline_live_call_events_total', 'call events this instance handed to live stats', () => seen.call);
    counter('hotline_live_ops_events_total', 'ops events this instance handed to live stats', () => seen.ops);
    counter('hotline_live_snapshots_total', 'live snapshots this instance read from Redis', () => seen.refreshes);
    counter('hotline_live_write_failures_total', 'live-stat writes to Redis that failed (repaired by the call\'s next event)', () => seen.writeFailures);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text, with the gauges set from a snapshot read now. */
  async render(): Promise<string> {
    this.update(await this.live.snapshot());
    // A pipeline whose Redis does not answer keeps its last value out of the scrape (reset above).
    await Promise.all(
      this.pipelines.map(async (p) => {
        const [raw, fold] = await Promise.allSettled([p.backlog(), p.foldBacklog()]);
        if (raw.status === 'fulfilled') this.gauges.get('hotline_event_backlog')!.set({ stream: p.name }, raw.value);
        if (fold.status === 'fulfilled') this.gauges.get('hotline_event_fold_backlog')!.set({ stream: p.name }, fold.value);
      }),
    );
    return this.registry.metrics();
  }

  private update(s: LiveSnapshot): void {
    for (const g of this.gauges.values()) g.reset();
    const set = (name: string, value: number, labels: Record<string, string> = {}) => this.gauges.get(name)!.set(labels, value);
    set('hotline_calls_in_ivr', s.callsInIvr);
    set('hotline_calls_queued', s.callsQueued);
    set('hotline_calls_talking', s.callsTalking);
    set('hotline_live_websocket_clients', this.live.listenerCount);
    for (const [state, n] of Object.entries(s.agents)) set('hotline_agents', n, { state });
    for (const [suffix, field] of TODAY) set(`hotline_today_${suffix}`, s.today[field] as number);
    if (s.today.serviceLevel !== null) set('hotline_today_service_level', s.today.serviceLevel);
    for (const [queue, q] of Object.entries(s.queues)) {
      set('hotline_queue_waiting_calls', q.waiting, { queue });
      set('hotline_queue_longest_wait_seconds', q.longestWaitSeconds ?? 0, { queue });
      for (const [state, n] of Object.entries(q.agents)) set('hotline_queue_agents', n, { queue, state });
      for (const [suffix, field] of TODAY) set(`hotline_queue_today_${suffix}`, q.today[field] as number, { queue });
      if (q.today.serviceLevel !== null) set('hotline_queue_today_service_level', q.today.serviceLevel, { queue });
    }
  }
}
