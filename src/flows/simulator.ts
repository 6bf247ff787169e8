import type { CallEventType } from '../domain/call-event.ts';
import type { FlowCatalog } from './catalog.ts';
import { initialState, step } from './interpreter.ts';
import type { Flow } from './schema.ts';
import type { FlowCommand, FlowInput, FlowResolver, FlowState, Phase, VarValue } from './state.ts';

/**
 * A driver over the pure interpreter for trying flows without Asterisk: it plays the part of
 * the telephony adapter (playbacks finish, timers fire, HTTP answers arrive) and of the caller
 * (keys, silence, hang-up), with a fake clock that moves only when told. No I/O of its own.
 *
 * Scripted actions are what the caller (or the outside world) does; everything else happens
 * by itself:
 * - a prompt finishes by itself, unless the caller's next action is a key and the prompt
 *   belongs to a node that takes keys (menu, gather, survey): then the key is a barge-in,
 *   fed before the prompt's `playback.finished`. `!5` presses 5 during whatever plays;
 *   `w` lets the current prompt finish first (so the next key is not a barge-in);
 * - `t` fires the current timer (the clock advances by its duration);
 * - an HTTP request takes the next action if it is `ok:{json}` / `ok` / `err`, otherwise
 *   the default answer (so scripts stay short);
 * - a recording finishes by itself (or on `#`), after `recordingSeconds`;
 * - `h` hangs up at any point.
 */

export type SimAction =
  | { readonly kind: 'digit'; readonly digit: string; /** Press during whatever plays, even a plain prompt. */ readonly now?: boolean }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'hangup' }
  | { readonly kind: 'wait' }
  | { readonly kind: 'http'; readonly ok: boolean; readonly status?: number; /** Missing: the default answer's body. */ readonly body?: unknown };

export interface HttpAnswer {
  readonly ok: boolean;
  readonly status?: number;
  readonly body?: unknown;
}

/** What a CRM lookup answers when the script does not say otherwise. */
export const DEFAULT_CRM_RECORD = { tier: 'normal', balance: 88 } as const;

export interface SimulatorOptions {
  /** The flows (all versions) or a resolver over them. */
  readonly flows: readonly Flow[] | FlowResolver;
  readonly flowId: string;
  /** The prompt catalog, to show `prompt:<name>` as text. */
  readonly prompts?: FlowCatalog['prompts'];
  /** Call variables at the start, e.g. caller and dialed. */
  readonly vars?: Readonly<Record<string, VarValue>>;
  /** The fake clock's start. Default 2026-01-05T10:00:00+08:00 (a Monday morning in Shanghai). */
  readonly at?: Date;
  readonly callId?: string;
  /** Answer for HTTP requests the script does not answer. Default: ok, {@link DEFAULT_CRM_RECORD}. */
  readonly httpDefault?: HttpAnswer;
  /** How long a voicemail recording lasts. Default 10. */
  readonly recordingSeconds?: number;
  /** Upper bound on inputs fed to the interpreter, so every run terminates. Default 500. */
  readonly maxSteps?: number;
}

export type TranscriptEntry =
  | { readonly kind: 'input'; readonly at: string; readonly node: string; readonly input: FlowInput; /** Fed by the simulator, not the script. */ readonly auto: boolean }
  | { readonly kind: 'prompt'; readonly at: string; readonly node: string; readonly playbackId: string; readonly media: readonly string[]; readonly text: string }
  | { readonly kind: 'event'; readonly at: string; readonly event: CallEventType; readonly data: Readonly<Record<string, unknown>> }
  | { readonly kind: 'command'; readonly at: string; readonly node: string; readonly command: FlowCommand }
  | { readonly kind: 'note'; readonly at: string; readonly text: string };

export type Outcome =
  /** The call ended (call.ended recorded). */
  | 'ended'
  /** The script ran out while the flow waits for the caller. */
  | 'waiting'
  /** The step bound was reached. */
  | 'max_steps'
  /** The script does not fit the flow (e.g. an HTTP answer while a menu waits for a key). */
  | 'script_error'
  /** The flow waits for nothing the simulator can give (should not happen). */
  | 'stuck';

export interface Transcript {
  readonly flowId: string;
  readonly callId: string;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly outcome: Outcome;
  readonly error?: string;
  /** The node the call ended or waits at, and what it waits for. */
  readonly node: string;
  readonly phase: Phase['kind'];
  readonly language: string;
  readonly endCause?: string;
  /** Prompts played, as text, in order. */
  readonly prompts: readonly string[];
  readonly events: ReadonlyArray<{ readonly event: CallEventType; readonly data: Readonly<Record<string, unknown>> }>;
  /** Nodes entered, in order. */
  readonly path: readonly string[];
  readonly vars: Readonly<Record<string, VarValue>>;
  /** Script actions left over when the call ended. */
  readonly unused: readonly string[];
  /** Effects still outstanding at the end (playbacks stopped but not reported finished, etc.). */
  readonly pending: { readonly playbacks: readonly string[]; readonly timers: readonly string[]; readonly requests: readonly string[]; readonly recordings: readonly string[] };
  readonly steps: number;
  readonly entries: readonly TranscriptEntry[];
}

export class ScriptError extends Error {
  override name = 'ScriptError';
}

/** A resolver over a list of flows: `active` is the highest version of an id. */
export function resolverOf(flows: readonly Flow[]): FlowResolver {
  return {
    get: (id, version) => flows.find((f) => f.id === id && f.version === version),
    active: (id) => flows.filter((f) => f.id === id).reduce<Flow | undefined>((a, f) => (!a || f.version > a.version ? f : a), undefined),
  };
}

const DEFAULT_AT = new Date('2026-01-05T10:00:00+08:00');

export class FlowSimulator {
  private readonly flows: FlowResolver;
  private readonly prompts: FlowCatalog['prompts'];
  private readonly httpDefault: HttpAnswer;
  private readonly recordingSeconds: number;
  private readonly maxSteps: number;
  private readonly startedAt: Date;
  private readonly queue: SimAction[] = [];
  private readonly log: TranscriptEntry[] = [];
  /** Outstanding effects, as the adapter would see them. */
  private readonly playbacks = new Set<string>();
  private readonly timers = new Map<string, number>();
  private readonly requests = new Set<string>();
  private readonly recordings = new Set<string>();
  private current: FlowState;
  private clock: Date;
  private started = false;
  private steps = 0;
  private stopped: Outcome | undefined;
  private error: string | undefined;

  constructor(opts: SimulatorOptions) {
    this.flows = Array.isArray(opts.flows) ? resolverOf(opts.flows as readonly Flow[]) : (opts.flows as FlowResolver);
    const flow = this.flows.active(opts.flowId);
    if (!flow) throw new Error(`flow "${opts.flowId}" is not loaded`);
    this.prompts = opts.prompts ?? new Map();
    this.httpDefault = opts.httpDefault ?? { ok: true, status: 200, body: DEFAULT_CRM_RECORD };
    this.recordingSeconds = opts.recordingSeconds ?? 10;
    this.maxSteps = opts.maxSteps ?? 500;
    this.startedAt = new Date(opts.at ?? DEFAULT_AT);
    this.clock = new Date(this.startedAt);
    this.current = initialState(opts.callId ?? 'sim', flow, opts.vars ?? {});
  }

  get state(): FlowState {
    return this.current;
  }

  get now(): Date {
    return new Date(this.clock);
  }

  get entries(): readonly TranscriptEntry[] {
    return this.log;
  }

  /** True once the call ended or the simulation cannot go on. */
  get done(): boolean {
    return this.stopped !== undefined && this.stopped !== 'waiting';
  }

  /** The node the flow is at and what it waits for, for an interactive prompt. */
  get waitingFor(): 'key' | 'prompt' | 'http' | 'recording' | 'ended' | 'nothing' {
    const p = this.current.phase;
    if (p.kind === 'ended') return 'ended';
    if (this.done) return 'nothing';
    if (p.kind === 'listening') return 'key';
    if (p.kind === 'playing') return 'prompt';
    if (p.kind === 'http') return 'http';
    if (p.kind === 'recording') return 'recording';
    return 'nothing';
  }

  /** Moves the fake clock forward. */
  advance(ms: number): void {
    this.clock = new Date(this.clock.getTime() + ms);
  }

  /** Runs a whole script non-interactively and returns the transcript. */
  run(actions: readonly SimAction[]): Transcript {
    this.perform(actions);
    return this.transcript();
  }

  /**
   * Queues the caller's actions and drives the flow until it needs the caller again or ends.
   * `interactive` also pauses while a prompt of a node that takes keys plays, while an HTTP
   * request is pending and while a message records, so a person can act at those points.
   */
  perform(actions: readonly SimAction[], opts: { interactive?: boolean } = {}): void {
    if (this.done) {
      this.queue.push(...actions);
      return;
    }
    this.stopped = undefined;
    this.queue.push(...actions);
    if (!this.started) {
      this.started = true;
      this.feed({ type: 'started' }, true);
    }
    this.pump(opts.interactive ?? false);
  }

  transcript(): Transcript {
    const s = this.current;
    const events = this.log.flatMap((e) => (e.kind === 'event' ? [{ event: e.event, data: e.data }] : []));
    const ended = events.find((e) => e.event === 'call.ended');
    const outcome: Outcome = this.stopped ?? (s.phase.kind === 'ended' ? 'ended' : 'waiting');
    return {
      flowId: s.flowId,
      callId: s.callId,
      startedAt: this.startedAt.toISOString(),
      endedAt: this.clock.toISOString(),
      outcome,
      ...(this.error ? { error: this.error } : {}),
      node: s.node,
      phase: s.phase.kind,
      language: s.language,
      ...(ended ? { endCause: String(ended.data.cause) } : {}),
      prompts: this.log.flatMap((e) => (e.kind === 'prompt' ? [e.text] : [])),
      events,
      path: [...s.path],
      vars: { ...s.vars },
      unused: this.queue.map(actionLabel),
      pending: { playbacks: [...this.playbacks], timers: [...this.timers.keys()], requests: [...this.requests], recordings: [...this.recordings] },
      steps: this.steps,
      entries: [...this.log],
    };
  }

  private stop(outcome: Outcome, error?: string): void {
    this.stopped = outcome;
    if (error) {
      this.error = error;
      this.note(error);
    }
  }

  private note(text: string): void {
    this.log.push({ kind: 'note', at: this.clock.toISOString(), text });
  }

  private pump(interactive: boolean): void {
    while (this.stopped === undefined) {
      const s = this.current;
      if (s.phase.kind === 'ended') {
        this.stop('ended');
        if (this.queue.length) this.note(`call ended; unused actions: ${this.queue.map(actionLabel).join(',')}`);
        return;
      }
      const next = this.queue[0];
      if (next?.kind === 'hangup') {
        this.queue.shift();
        this.feed({ type: 'hungup', cause: 'caller_hangup' }, false);
        continue;
      }
      const phase = s.phase;
      switch (phase.kind) {
        case 'playing': {
          const takesKeys = phase.then === 'listen';
          if (next?.kind === 'digit' && (next.now || takesKeys)) {
            this.queue.shift();
            this.feed({ type: 'dtmf', digit: next.digit }, false);
            // The adapter reports the (possibly stopped) playback as finished afterwards.
            if (this.playbacks.has(phase.playbackId)) this.feed({ type: 'playback.finished', playbackId: phase.playbackId }, true);
            continue;
          }
          if (!next && interactive && takesKeys) return;
          if (next?.kind === 'wait') this.queue.shift();
          this.feed({ type: 'playback.finished', playbackId: phase.playbackId }, true);
          continue;
        }
        case 'listening': {
          if (!next) return;
          this.queue.shift();
          if (next.kind === 'digit') this.feed({ type: 'dtmf', digit: next.digit }, false);
          else if (next.kind === 'timeout') {
            this.advance(this.timers.get(phase.timer) ?? 0);
            this.feed({ type: 'timer.fired', name: phase.timer }, false);
          } else if (next.kind === 'http') {
            const error = `${actionLabel(next)}: no HTTP request is pending; ${s.node} waits for a key`;
            if (interactive) this.note(error);
            else {
              this.queue.unshift(next);
              this.stop('script_error', error);
            }
          }
          continue;
        }
        case 'http': {
          if (next?.kind === 'http' || next?.kind === 'wait') {
            this.queue.shift();
            const answer = next.kind === 'http' ? { ...next, body: next.body ?? (next.ok ? this.httpDefault.body : undefined) } : this.httpDefault;
            this.answer(phase.requestId, answer, false);
            continue;
          }
          if (!next && interactive) return;
          this.answer(phase.requestId, this.httpDefault, true);
          continue;
        }
        case 'recording': {
          if (next?.kind === 'digit' && next.digit === '#') this.queue.shift();
          else if (next?.kind === 'wait') this.queue.shift();
          else if (!next && interactive) return;
          this.advance(this.recordingSeconds * 1000);
          this.feed({ type: 'recording.finished', name: phase.name, ok: true, seconds: this.recordingSeconds }, true);
          continue;
        }
        case 'queued':
          // Routing is not simulated: no agent is logged in, as on a fresh system.
          this.feed({ type: 'queue.unavailable', reason: 'routing is not simulated' }, true);
          continue;
        case 'connected':
          this.feed({ type: 'queue.agent_left' }, true);
          continue;
        case 'callback':
          this.feed({ type: 'queue.callback', ok: false, reason: 'routing is not simulated' }, true);
          continue;
        default:
          this.stop('stuck', `the flow waits for nothing at ${s.node} (phase ${phase.kind})`);
          return;
      }
    }
  }

  private answer(requestId: string, a: HttpAnswer, auto: boolean): void {
    const status = a.status ?? (a.ok ? 200 : 503);
    this.feed({ type: 'http.result', requestId, ok: a.ok, status, body: a.body ?? null }, auto);
  }

  private feed(input: FlowInput, auto: boolean): void {
    if (this.steps >= this.maxSteps) {
      this.stop('max_steps', `stopped after ${this.maxSteps} steps`);
      return;
    }
    this.steps += 1;
    const at = this.clock.toISOString();
    this.log.push({ kind: 'input', at, node: this.current.node, input, auto });
    switch (input.type) {
      case 'playback.finished':
        this.playbacks.delete(input.playbackId);
        break;
      case 'timer.fired':
        this.timers.delete(input.name);
        break;
      case 'http.result':
        this.requests.delete(input.requestId);
        break;
      case 'recording.finished':
        this.recordings.delete(input.name);
        break;
      default:
        break;
    }
    let node = this.current.node;
    const r = step(this.flows, this.current, input, this.clock);
    this.current = r.state;
    for (const command of r.commands) {
      switch (command.type) {
        case 'RecordEvent':
          if (command.event === 'flow.node_entered' && typeof command.data.node === 'string') node = command.data.node;
          this.log.push({ kind: 'event', at, event: command.event, data: command.data });
          continue;
        case 'PlayPrompt':
          this.playbacks.add(command.playbackId);
          this.log.push({ kind: 'prompt', at, node, playbackId: command.playbackId, media: command.media, text: this.text(command.media) });
          continue;
        case 'StartTimer':
          this.timers.set(command.name, command.ms);
          break;
        case 'CancelTimer':
          this.timers.delete(command.name);
          break;
        case 'HttpRequest':
          this.requests.add(command.requestId);
          break;
        case 'RecordMessage':
          this.recordings.add(command.name);
          break;
        default:
          break;
      }
      this.log.push({ kind: 'command', at, node, command });
    }
  }

  /** `sound:hotline/<lang>/<name>` (a resolved `prompt:<name>`) as the catalog's text; other media as-is. */
  private text(media: readonly string[]): string {
    // A Mandarin number said from number words (num_*) reads as one word: 八十八, not 八 十 八.
    let out = '';
    let lastWasZhNumber = false;
    for (const m of media) {
      const hit = /^sound:hotline\/(zh|en)\/([a-z][a-z0-9_]*)$/.exec(m);
      const text = (hit ? this.prompts.get(hit[2]!)?.[hit[1] as 'zh' | 'en'] : undefined) ?? m;
      const zhNumber = hit?.[1] === 'zh' && hit[2]!.startsWith('num_') && text !== m;
      out += out && !(zhNumber && lastWasZhNumber) ? ` ${text}` : text;
      lastWasZhNumber = zhNumber;
    }
    return out;
  }
}

/**
 * Parses a script: actions separated by commas or new lines. `0-9*#` keys (several in one
 * token press each in turn), `!5` a key pressed during any prompt, `t` timeout, `h` hang-up,
 * `w` let the prompt finish, `ok` / `ok:{json}` / `ok:200:{json}` / `err` / `err:504` an HTTP answer.
 */
export function parseScript(script: string): SimAction[] {
  const out: SimAction[] = [];
  for (const raw of splitTopLevel(script)) {
    const tok = raw.trim();
    if (!tok) continue;
    out.push(...parseAction(tok));
  }
  return out;
}

function parseAction(tok: string): SimAction[] {
  const lower = tok.toLowerCase();
  if (/^[0-9*#]+$/.test(tok)) return [...tok].map((digit) => ({ kind: 'digit', digit }));
  if (/^![0-9*#]+$/.test(tok)) return [...tok.slice(1)].map((digit) => ({ kind: 'digit', digit, now: true }));
  if (lower === 't' || lower === 'timeout') return [{ kind: 'timeout' }];
  if (lower === 'h' || lower === 'hangup') return [{ kind: 'hangup' }];
  if (lower === 'w' || lower === 'wait') return [{ kind: 'wait' }];
  if (lower === 'ok') return [{ kind: 'http', ok: true }];
  const err = /^err(?::(\d{1,3}))?$/i.exec(tok);
  if (err) return [{ kind: 'http', ok: false, ...(err[1] ? { status: Number(err[1]) } : {}) }];
  const ok = /^ok:(?:(\d{3}):)?([\s\S]+)$/i.exec(tok);
  if (ok) return [{ kind: 'http', ok: true, ...(ok[1] ? { status: Number(ok[1]) } : {}), body: parseLooseJson(ok[2]!) }];
  throw new ScriptError(`unknown action "${tok}" (keys 0-9*#, !key, t, h, w, ok, ok:{json}, err)`);
}

/** JSON, or a JavaScript-like object literal with bare keys and single quotes. */
export function parseLooseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const fixed = text
      .replace(/'([^'\\]*)'/g, (_, s: string) => JSON.stringify(s))
      .replace(/([{,]\s*)([A-Za-z_$][\w$]*)\s*:/g, '$1"$2":');
    try {
      return JSON.parse(fixed);
    } catch {
      throw new ScriptError(`not JSON: ${text}`);
    }
  }
}

/** Splits on commas and new lines outside brackets and strings. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      cur += c;
      if (c === '\\' && i + 1 < s.length) cur += s[++i];
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') depth = Math.max(0, depth - 1);
    else if ((c === ',' || c === '\n') && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

export function actionLabel(a: SimAction): string {
  switch (a.kind) {
    case 'digit':
      return a.now ? `!${a.digit}` : a.digit;
    case 'timeout':
      return 't';
    case 'hangup':
      return 'h';
    case 'wait':
      return 'w';
    case 'http':
      return a.ok ? (a.body === undefined ? 'ok' : `ok:${JSON.stringify(a.body)}`) : `err${a.status ? `:${a.status}` : ''}`;
  }
}

/** One transcript entry as a line of text, or undefined for entries not worth a line. */
export function formatEntry(e: TranscriptEntry, startedAt: string): string | undefined {
  const t = clockLabel(Date.parse(e.at) - Date.parse(startedAt));
  switch (e.kind) {
    case 'note':
      return `${t} !! ${e.text}`;
    case 'prompt':
      return `${t}      say   ${e.text}`;
    case 'input': {
      const i = e.input;
      switch (i.type) {
        case 'started':
          return `${t} << call (${e.node})`;
        case 'dtmf':
          return `${t} << key ${i.digit}`;
        case 'timer.fired':
          return `${t} << timeout`;
        case 'hungup':
          return `${t} << hang up`;
        case 'http.result':
          return `${t} << http ${i.ok ? 'ok' : 'error'} ${i.status}${i.ok ? ` ${JSON.stringify(i.body)}` : ''}${e.auto ? ' (default)' : ''}`;
        case 'recording.finished':
          return `${t} << message recorded (${i.seconds} s)`;
        case 'command.failed':
          return `${t} << ${i.command} failed: ${i.error}`;
        case 'playback.finished':
          return undefined;
      }
      return undefined;
    }
    case 'event':
      if (e.event === 'flow.node_entered') return `${t}  > ${String(e.data.node)} (${String(e.data.type)})`;
      return `${t}      event ${e.event}${formatData(e.data)}`;
    case 'command': {
      const c = e.command;
      switch (c.type) {
        case 'Answer':
          return `${t}      answer`;
        case 'StopPlayback':
          return `${t}      (prompt cut short)`;
        case 'StartTimer':
          return `${t}      listen ${c.ms} ms`;
        case 'HttpRequest':
          return `${t}      http ${c.service} ${c.path}`;
        case 'RecordMessage':
          return `${t}      record message (max ${c.maxSeconds} s)`;
        case 'SendSms':
          return `${t}      sms ${c.template} to ${c.to}${formatData(c.variables)}`;
        case 'Transfer':
          return `${t}      transfer to ${c.number}`;
        case 'Hangup':
          return `${t}      hang up`;
        default:
          return undefined;
      }
    }
  }
}

/** The whole transcript as text: the call line by line, then path, variables and outcome. */
export function formatTranscript(tr: Transcript): string {
  const lines = tr.entries.map((e) => formatEntry(e, tr.startedAt)).filter((l): l is string => l !== undefined);
  lines.push('');
  const where = tr.outcome === 'ended' ? `${tr.endCause ?? 'ended'} at ${tr.node}` : `${tr.outcome} at ${tr.node} (${tr.phase})`;
  lines.push(`outcome: ${where}`);
  lines.push(`path:    ${tr.path.join(' > ')}`);
  lines.push(`vars:    ${Object.entries(tr.vars).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (tr.unused.length) lines.push(`unused:  ${tr.unused.join(',')}`);
  if (tr.error) lines.push(`error:   ${tr.error}`);
  return lines.join('\n') + '\n';
}

function formatData(data: Readonly<Record<string, unknown>>): string {
  const skip = new Set(['node', 'flow', 'version']);
  const parts = Object.entries(data)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length ? ` ${parts.join(' ')}` : '';
}

function clockLabel(ms: number): string {
  const total = Math.max(0, Math.round(ms / 100));
  const tenths = total % 10;
  const secs = Math.floor(total / 10);
  return `[${String(Math.floor(secs / 60)).padStart(2, '0')}:${String(secs % 60).padStart(2, '0')}.${tenths}]`;
}
