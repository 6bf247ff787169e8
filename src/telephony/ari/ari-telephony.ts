import ari from 'ari-client';
import type { Logger } from '../../log/logger.ts';
import {
  ChannelGoneError,
  type ConnectionEvent,
  type EndpointInfo,
  type HangupReason,
  type OriginateRequest,
  type TelephonyEvent,
  type TelephonyPort,
} from '../port.ts';
import { backoffDelay } from './backoff.ts';
import { mapAriEvent, type AriRawEvent } from './map-event.ts';

export interface AriOptions {
  url: string;
  user: string;
  password: string;
  app: string;
  connectTimeoutMs: number;
  pingIntervalMs: number;
  reconnectMaxMs: number;
  /**
   * Event sources for presence, e.g. 'endpoint:PJSIP'. They are subscribed on a second app
   * (`<app>-presence`) on the same socket: subscribing the call app itself to an endpoint
   * makes Asterisk deliver every channel event of that endpoint twice.
   */
  subscriptions: readonly string[];
}

type Client = Awaited<ReturnType<typeof ari.connect>>;

/** ari-client's typings omit the untyped parts of its EventEmitter that the supervisor needs. */
function emitter(c: Client): import('node:events').EventEmitter {
  return c as unknown as import('node:events').EventEmitter;
}

/**
 * The only importer of ari-client. ari-client reconnects its WebSocket by itself, but gives
 * up after about ten tries and has no watchdog for a half-open socket. So this adapter
 * supervises it: a connect timeout on the first HTTP call, a ping watchdog that kills a
 * silent socket (which makes ari-client reconnect), and, when ari-client gives up, a fresh
 * client after a jittered backoff — forever, until stop().
 */
export class AriTelephony implements TelephonyPort {
  private client: Client | null = null;
  private connected = false;
  private everConnected = false;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private awaitingPong = false;
  private readonly eventHandlers: Array<(e: TelephonyEvent) => void> = [];
  private readonly connectionHandlers: Array<(e: ConnectionEvent) => void> = [];

  private readonly opts: AriOptions;
  private readonly log: Logger;

  constructor(opts: AriOptions, log: Logger) {
    this.opts = opts;
    this.log = log;
  }

  onEvent(handler: (event: TelephonyEvent) => void): void {
    this.eventHandlers.push(handler);
  }

  onConnection(handler: (event: ConnectionEvent) => void): void {
    this.connectionHandlers.push(handler);
  }

  private get presenceApp(): string {
    return `${this.opts.app}-presence`;
  }

  isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    this.stopped = false;
    void this.connectOnce();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stopPing();
    const c = this.client;
    this.client = null;
    this.connected = false;
    if (c) {
      emitter(c).removeAllListeners();
      try {
        c.stop();
      } catch {
        // Socket already closed.
      }
    }
  }

  private async connectOnce(): Promise<void> {
    if (this.stopped) return;
    let client: Client | null = null;
    try {
      client = await withTimeout(
        ari.connect(this.opts.url, this.opts.user, this.opts.password),
        this.opts.connectTimeoutMs,
        'ARI connect',
      );
      if (this.stopped) return;
      this.client = client;
      this.wire(client);
      const apps = this.opts.subscriptions.length ? [this.opts.app, this.presenceApp] : [this.opts.app];
      await withTimeout(client.start(apps), this.opts.connectTimeoutMs, 'ARI WebSocket');
    } catch (err) {
      if (client) {
        emitter(client).removeAllListeners();
        try {
          client.stop();
        } catch {
          // Never opened.
        }
      }
      if (this.client === client) this.client = null;
      this.scheduleReconnect((err as Error).message);
    }
  }

  private wire(client: Client): void {
    const ev = emitter(client);
    ev.on('WebSocketConnected', () => void this.handleConnected(client));
    ev.on('WebSocketReconnecting', (err?: Error) => this.markDisconnected(`reconnecting: ${err?.message ?? 'socket closed'}`));
    ev.on('WebSocketMaxRetries', (err?: Error) => {
      // ari-client has given up on this client; take over with a fresh one.
      emitter(client).removeAllListeners();
      if (this.client === client) this.client = null;
      this.scheduleReconnect(`ari-client gave up: ${err?.message ?? 'unknown'}`);
    });
    ev.on('pong', () => {
      this.awaitingPong = false;
    });
    ev.on('*', (raw: AriRawEvent) => {
      this.log.trace({ ari: raw.type, application: raw.application }, 'ARI event');
      const event = mapAriEvent(raw);
      if (!event) return;
      // Calls come from the call app, presence from the presence app: each event once.
      const fromPresence = raw.application === this.presenceApp;
      if (fromPresence !== (event.type === 'endpoint.state_changed')) return;
      for (const h of this.eventHandlers) {
        try {
          h(event);
        } catch (err) {
          // A handler's bug must not kill the event stream of every other call.
          this.log.error({ err, event: event.type }, 'telephony event handler threw');
        }
      }
    });
  }

  private async handleConnected(client: Client): Promise<void> {
    if (this.client !== client || this.stopped) return;
    const reconnect = this.everConnected;
    this.connected = true;
    this.everConnected = true;
    this.attempt = 0;
    this.startPing(client);
    for (const source of this.opts.subscriptions) {
      // Asterisk keeps an app's subscriptions across sockets; drop any a previous version
      // put on the call app (it would double every channel event). Absent is fine.
      await client.applications.unsubscribe({ applicationName: this.opts.app, eventSource: source }).catch(() => undefined);
      try {
        await client.applications.subscribe({ applicationName: this.presenceApp, eventSource: source });
      } catch (err) {
        this.log.error({ err, source }, 'ARI event subscription failed');
      }
    }
    this.log.info({ app: this.opts.app, reconnect }, 'ARI connected');
    for (const h of this.connectionHandlers) h({ type: 'connected', reconnect });
  }

  private markDisconnected(reason: string): void {
    if (this.connected) {
      this.log.warn({ reason }, 'ARI disconnected');
      for (const h of this.connectionHandlers) h({ type: 'disconnected', reason });
    }
    this.connected = false;
    this.stopPing();
  }

  private scheduleReconnect(reason: string): void {
    this.markDisconnected(reason);
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt++, 250, this.opts.reconnectMaxMs);
    this.log.warn({ reason, attempt: this.attempt, delayMs: delay }, 'ARI connect failed; retrying');
    this.retryTimer = setTimeout(() => void this.connectOnce(), delay);
  }

  /**
   * A socket can stay "open" while Asterisk is gone (a frozen process, a dropped NAT entry).
   * No pong within one interval means it is dead: terminating it makes ari-client reconnect.
   */
  private startPing(client: Client): void {
    this.stopPing();
    this.awaitingPong = false;
    this.pingTimer = setInterval(() => {
      if (this.awaitingPong) {
        this.log.warn('ARI ping unanswered; dropping the socket');
        const ws = (client as unknown as { _ws?: { terminate(): void } })._ws;
        ws?.terminate();
        return;
      }
      this.awaitingPong = true;
      try {
        client.ping();
      } catch {
        // ws throws when the socket is not open; the next tick treats it as unanswered.
      }
    }, this.opts.pingIntervalMs);
    this.pingTimer.unref();
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private requireClient(): Client {
    if (!this.client || !this.connected) throw new Error('ARI is not connected');
    return this.client;
  }

  async answer(channelId: string): Promise<void> {
    await this.onChannel(channelId, (c) => c.channels.answer({ channelId }));
  }

  async play(channelId: string, playbackId: string, media: readonly string[]): Promise<void> {
    await this.onChannel(channelId, (c) =>
      c.channels.play({ channelId, playbackId, media: media as string[] }),
    );
  }

  async stopPlayback(playbackId: string): Promise<void> {
    try {
      await this.requireClient().playbacks.stop({ playbackId });
    } catch (err) {
      // A playback that already finished is not an error: DTMF and PlaybackFinished race.
      if (!isNotFound(err)) throw err;
    }
  }

  async hangup(channelId: string, reason: HangupReason = 'normal'): Promise<void> {
    try {
      await this.onChannel(channelId, (c) => c.channels.hangup({ channelId, reason }));
    } catch (err) {
      if (!(err instanceof ChannelGoneError)) throw err;
    }
  }

  async record(channelId: string, name: string, maxSeconds: number): Promise<void> {
    await this.onChannel(channelId, (c) =>
      c.channels.record({
        channelId,
        name,
        format: 'wav',
        maxDurationSeconds: maxSeconds,
        maxSilenceSeconds: 5,
        beep: true,
        terminateOn: '#',
        ifExists: 'overwrite',
      }),
    );
  }

  async originate(r: OriginateRequest): Promise<void> {
    const variables: Record<string, string> = {};
    for (const [name, value] of Object.entries(r.headers)) variables[`PJSIP_HEADER(add,${name})`] = value;
    await this.requireClient().channels.originate({
      endpoint: r.endpoint,
      app: this.opts.app,
      appArgs: r.appArgs.join(','),
      callerId: r.callerId,
      timeout: r.timeoutSeconds,
      channelId: r.channelId,
      variables,
    });
  }

  async createBridge(bridgeId: string): Promise<void> {
    await this.requireClient().bridges.create({ type: 'mixing', bridgeId });
  }

  async addToBridge(bridgeId: string, channelIds: readonly string[]): Promise<void> {
    await this.requireClient().bridges.addChannel({ bridgeId, channel: [...channelIds] });
  }

  async destroyBridge(bridgeId: string): Promise<void> {
    try {
      await this.requireClient().bridges.destroy({ bridgeId });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async startMusicOnHold(channelId: string, mohClass: string): Promise<void> {
    await this.onChannel(channelId, (c) => c.channels.startMoh({ channelId, mohClass }));
  }

  async stopMusicOnHold(channelId: string): Promise<void> {
    try {
      await this.onChannel(channelId, (c) => c.channels.stopMoh({ channelId }));
    } catch (err) {
      if (!(err instanceof ChannelGoneError)) throw err;
    }
  }

  async continueInDialplan(channelId: string, context: string, extension: string): Promise<void> {
    await this.onChannel(channelId, (c) => c.channels.continueInDialplan({ channelId, context, extension, priority: 1 }));
  }

  async listAppChannels(): Promise<string[]> {
    const app = await this.requireClient().applications.get({ applicationName: this.opts.app });
    return [...app.channel_ids];
  }

  async getEndpoint(technology: string, resource: string): Promise<EndpointInfo | null> {
    try {
      const ep = await this.requireClient().endpoints.get({ tech: technology, resource });
      const channelIds = Array.isArray(ep.channel_ids) ? ep.channel_ids : [ep.channel_ids];
      return { technology: ep.technology, resource: ep.resource, state: ep.state ?? 'unknown', channelIds };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async channelExists(channelId: string): Promise<boolean> {
    try {
      await this.requireClient().channels.get({ channelId });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async onChannel<T>(channelId: string, fn: (c: Client) => Promise<T>): Promise<T> {
    try {
      return await fn(this.requireClient());
    } catch (err) {
      if (isNotFound(err)) throw new ChannelGoneError(channelId, err);
      throw err;
    }
  }
}

/**
 * swagger-client (under ari-client) both rejects the connect promise and *throws* from an HTTP
 * callback when Asterisk answers its API description with an error — as Asterisk does (503)
 * for a moment while it starts. The rejection is handled by the supervisor; the throw would
 * be an uncaught exception. The entry point lets exactly these through (see cli/hotline.ts).
 */
export function isAriSpecLoadFailure(err: unknown): boolean {
  // The strings swagger-client's SwaggerApi.fail throws while loading /ari/api-docs/*.
  return typeof err === 'string' && (err.includes('/ari/api-docs/') || err.startsWith("Can't read from server."));
}

/** ari-client turns an HTTP error into an Error whose message is the response body. */
function isNotFound(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /not found|not in stasis/i.test(msg);
}

function withTimeout<T>(p: PromiseLike<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    Promise.resolve(p).then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
