import { isDeepStrictEqual } from 'node:util';
import type { AuditContext } from '../records/audit-store.ts';
import type { FlowStore } from '../records/flow-store.ts';
import type { FlowCatalog } from './catalog.ts';
import type { FlowBundle } from './loader.ts';
import type { Flow } from './schema.ts';
import type { FlowResolver } from './state.ts';
import { validateFlow, type FlowError } from './validate.ts';

export class FlowRejected extends Error {
  readonly errors: readonly FlowError[];
  constructor(errors: readonly FlowError[]) {
    super(`flow rejected: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    this.name = 'FlowRejected';
    this.errors = errors;
  }
}

export interface VersionInfo {
  readonly version: number;
  readonly author: string;
  readonly createdAt: string;
}

/**
 * Every flow version this process knows, the active version per flow, and the number map.
 * Versions are immutable once loaded, so the interpreter may read it as pure data. Files in
 * ivr-flows/ are live at once (calls work while Postgres is down); once Postgres answers,
 * `sync` stores them and takes what admins published through the API.
 */
export class FlowRepository implements FlowResolver {
  private readonly versions = new Map<string, Map<number, Flow>>();
  private readonly info = new Map<string, Map<number, VersionInfo>>();
  private readonly activeVersion = new Map<string, number>();
  private numbers: Record<string, string>;
  private storedChanged: () => void = () => undefined;
  private readonly catalog: FlowCatalog;
  private readonly files: readonly Flow[];
  private readonly fileNumbers: Readonly<Record<string, string>>;
  private queueSource: (() => Pick<FlowCatalog, 'queues' | 'skills'>) | null = null;
  private queueRefresh: () => Promise<void> = async () => undefined;

  constructor(bundle: FlowBundle) {
    this.catalog = bundle.catalog;
    this.files = bundle.flows;
    this.fileNumbers = bundle.numbers;
    this.numbers = { ...bundle.numbers };
    for (const f of bundle.flows) {
      this.add(f, { version: f.version, author: 'file', createdAt: new Date(0).toISOString() });
      this.activeVersion.set(f.id, f.version);
    }
  }

  get(id: string, version: number): Flow | undefined {
    return this.versions.get(id)?.get(version);
  }

  active(id: string): Flow | undefined {
    const v = this.activeVersion.get(id);
    return v === undefined ? undefined : this.get(id, v);
  }

  /** The flow a call to `dialed` runs, or undefined for a number not in service. */
  forNumber(dialed: string): Flow | undefined {
    const id = this.numbers[dialed];
    return id ? this.active(id) : undefined;
  }

  list(): Array<{ id: string; name: string; activeVersion: number; versions: VersionInfo[] }> {
    return [...this.activeVersion.keys()].sort().map((id) => ({
      id,
      name: this.active(id)!.name,
      activeVersion: this.activeVersion.get(id)!,
      versions: this.versionsOf(id),
    }));
  }

  versionsOf(id: string): VersionInfo[] {
    return [...(this.info.get(id)?.values() ?? [])].sort((a, b) => a.version - b.version);
  }

  numberMap(): Readonly<Record<string, string>> {
    return { ...this.numbers };
  }

  /**
   * Queues and skills from now on come from `source` (the live routing configuration) instead
   * of queues.json, so a flow may name a queue created through the queue API. The file
   * catalog still decides at construction: file flows are checked before routing is up.
   * `refresh` brings `source` up to date with changes made on other instances; publish and
   * rollback call it under the activation lock (see FlowStore) before checking again.
   */
  followQueues(source: () => Pick<FlowCatalog, 'queues' | 'skills'>, refresh?: () => Promise<void>): void {
    this.queueSource = source;
    if (refresh) this.queueRefresh = refresh;
  }

  /** The catalog a flow is checked against now. */
  private catalogNow(flowIds: ReadonlySet<string>): FlowCatalog {
    return { ...this.catalog, ...this.queueSource?.(), flowIds };
  }

  validate(doc: unknown): ReturnType<typeof validateFlow> {
    const id = (doc as { id?: unknown } | null)?.id;
    const flowIds = new Set([...this.activeVersion.keys(), ...(typeof id === 'string' ? [id] : [])]);
    return validateFlow(doc, this.catalogNow(flowIds));
  }

  /**
   * Publishes a new version: validated against the catalog and the loaded flows, numbered
   * after the newest known version, stored, then made active. Invalid -> FlowRejected and
   * nothing changes. With `audit`, the store writes the audit row in the same transaction.
   */
  async publish(store: FlowStore, doc: unknown, author: string, audit?: AuditContext): Promise<Flow> {
    const latest = Math.max(0, ...this.versionsOf(String((doc as { id?: unknown })?.id)).map((v) => v.version));
    const numbered = doc && typeof doc === 'object' ? { ...(doc as object), version: latest + 1 } : doc;
    const v = this.validate(numbered);
    if (!v.ok) throw new FlowRejected(v.errors);
    await store.saveVersion(v.flow.id, v.flow.version, v.flow, author, true, audit, () => this.checkLive(v.flow));
    this.add(v.flow, { version: v.flow.version, author, createdAt: new Date().toISOString() });
    this.activeVersion.set(v.flow.id, v.flow.version);
    this.storedChanged();
    return v.flow;
  }

  async rollback(store: FlowStore, id: string, version: number, author: string, audit?: AuditContext): Promise<void> {
    const flow = this.get(id, version);
    if (!flow) throw new FlowRejected([{ path: 'version', message: `flow ${id} has no version ${version}` }]);
    // An older version may name what no longer exists (a queue removed since): not again.
    const v = this.validate(flow);
    if (!v.ok) throw new FlowRejected(v.errors);
    await store.setActive(id, version, author, audit, () => this.checkLive(flow));
    this.activeVersion.set(id, version);
    this.storedChanged();
  }

  /**
   * The check again, under the activation lock, against the queues as they are now on every
   * instance: the first check read this instance's memory, and a queue may have been removed
   * elsewhere since (a removal holds the same lock, so none can happen until the version is in).
   */
  private async checkLive(flow: Flow): Promise<void> {
    await this.queueRefresh();
    const v = this.validate(flow);
    if (!v.ok) throw new FlowRejected(v.errors);
  }

  /**
   * Called after every number mapped or unmapped and every flow published or rolled back here
   * (main.ts announces it to the other instances, which then call reloadStored).
   */
  onStoredChanged(fn: () => void): void {
    this.storedChanged = fn;
  }

  /**
   * Takes what another instance published, rolled back or mapped (announced over Redis, see
   * main.ts): every stored version, the active ones and the number map. A stored version that
   * does not validate here (this instance's queues lag behind) is left out and reported; its
   * flow keeps the version it had. Calls already running keep the version they started on.
   */
  async reloadStored(store: FlowStore): Promise<{ conflicts: string[] }> {
    const state = await store.load();
    const conflicts = this.takeStored(state, true);
    return { conflicts };
  }

  async mapNumber(store: FlowStore, number: string, flowId: string | null, author: string, audit?: AuditContext): Promise<void> {
    if (flowId !== null && !this.active(flowId)) throw new FlowRejected([{ path: 'flowId', message: `unknown flow "${flowId}"` }]);
    await store.setNumber(number, flowId, author, audit);
    this.storedChanged();
    if (flowId === null) delete this.numbers[number];
    else this.numbers[number] = flowId;
  }

  /**
   * Stores the file flows (a file whose content differs from the stored same version is an
   * error: bump its version), seeds the number map, then loads everything published.
   */
  async sync(store: FlowStore): Promise<{ conflicts: string[] }> {
    const before = await store.load();
    const conflicts: string[] = [];
    for (const f of this.files) {
      const stored = before.versions.find((v) => v.flowId === f.id && v.version === f.version);
      if (stored && !isDeepStrictEqual(stored.body, JSON.parse(JSON.stringify(f)))) {
        conflicts.push(`flow ${f.id} version ${f.version} differs from the published one: bump "version" in the file`);
        continue;
      }
      const activeStored = before.active[f.id];
      await store.saveVersion(f.id, f.version, f, 'file', activeStored === undefined || activeStored < f.version);
    }
    await store.seedNumbers(this.fileNumbers, 'file');
    conflicts.push(...this.takeStored(await store.load(), false));
    return { conflicts };
  }

  /** `onlyNew`: skip versions already held (stored versions never change; validating 1,000s again is waste). */
  private takeStored(state: Awaited<ReturnType<FlowStore['load']>>, onlyNew: boolean): string[] {
    const conflicts: string[] = [];
    for (const sv of state.versions) {
      if (onlyNew && this.get(sv.flowId, sv.version)) continue;
      const v = validateFlow(sv.body, this.catalogNow(new Set(state.versions.map((x) => x.flowId))));
      if (!v.ok) {
        conflicts.push(`stored flow ${sv.flowId} v${sv.version} no longer validates: ${v.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
        continue;
      }
      this.add(v.flow, { version: sv.version, author: sv.author, createdAt: sv.createdAt });
    }
    for (const [id, version] of Object.entries(state.active)) if (this.get(id, version)) this.activeVersion.set(id, version);
    this.numbers = { ...state.numbers };
    return conflicts;
  }

  private add(flow: Flow, info: VersionInfo): void {
    if (!this.versions.has(flow.id)) (this.versions.set(flow.id, new Map()), this.info.set(flow.id, new Map()));
    this.versions.get(flow.id)!.set(flow.version, flow);
    this.info.get(flow.id)!.set(flow.version, info);
  }
}
