import type { ConnectionEvent, EndpointInfo, OriginateRequest, TelephonyEvent, TelephonyPort } from '../../../src/telephony/port.ts';

/** Records every command; `fail` makes chosen commands reject, as a broken Asterisk would. */
export class FakeTelephony implements TelephonyPort {
  readonly calls: string[] = [];
  fail: (command: string) => Error | null = () => null;
  connected = true;
  appChannels: string[] = [];
  /** Channels channelExists finds (none unless a test adds them). */
  readonly liveChannels = new Set<string>();
  private readonly handlers: Array<(e: TelephonyEvent) => void> = [];
  private readonly connHandlers: Array<(e: ConnectionEvent) => void> = [];

  emit(e: TelephonyEvent): void {
    for (const h of this.handlers) h(e);
  }
  emitConnection(e: ConnectionEvent): void {
    for (const h of this.connHandlers) h(e);
  }
  private async do(entry: string): Promise<void> {
    this.calls.push(entry);
    const err = this.fail(entry.split(' ')[0]!);
    if (err) throw err;
  }
  start(): void {}
  async stop(): Promise<void> {}
  isConnected(): boolean {
    return this.connected;
  }
  onEvent(h: (e: TelephonyEvent) => void): void {
    this.handlers.push(h);
  }
  onConnection(h: (e: ConnectionEvent) => void): void {
    this.connHandlers.push(h);
  }
  answer(ch: string) {
    return this.do(`answer ${ch}`);
  }
  play(ch: string, id: string, media: readonly string[]) {
    return this.do(`play ${ch} ${id} ${media.join(',')}`);
  }
  stopPlayback(id: string) {
    return this.do(`stopPlayback ${id}`);
  }
  hangup(ch: string) {
    return this.do(`hangup ${ch}`);
  }
  record(ch: string, name: string, maxSeconds: number) {
    return this.do(`record ${ch} ${name} ${maxSeconds}`);
  }
  originate(r: OriginateRequest) {
    return this.do(`originate ${r.endpoint} ${r.channelId} ${r.appArgs.join(',')}`);
  }
  createBridge(id: string) {
    return this.do(`createBridge ${id}`);
  }
  addToBridge(id: string, channels: readonly string[]) {
    return this.do(`addToBridge ${id} ${channels.join(',')}`);
  }
  destroyBridge(id: string) {
    return this.do(`destroyBridge ${id}`);
  }
  startMusicOnHold(ch: string, cls: string) {
    return this.do(`startMoh ${ch} ${cls}`);
  }
  stopMusicOnHold(ch: string) {
    return this.do(`stopMoh ${ch}`);
  }
  continueInDialplan(ch: string, context: string, ext: string) {
    return this.do(`continue ${ch} ${context} ${ext}`);
  }
  async listAppChannels(): Promise<string[]> {
    return [...this.appChannels];
  }
  async getEndpoint(): Promise<EndpointInfo | null> {
    return null;
  }
  async channelExists(ch: string): Promise<boolean> {
    this.calls.push(`channelExists ${ch}`);
    return this.liveChannels.has(ch);
  }
}
