import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { spoolLines, type EventsJson } from './event-batch.ts';

/**
 * The local append-only spool for events Redis could not take (Redis unreachable, or a
 * command timed out). One line per batch, a JSON array of events, exactly what a stream
 * entry holds, so replay is "XADD each line".
 *
 * fsync policy: every batch is written and then fdatasync'ed before append() resolves
 * (async, on libuv's thread pool, so calls never wait for the disk). Spooling only happens
 * while Redis is away, so the cost of one sync per batch is paid rarely; in exchange a
 * spooled event survives a power cut, which is more than Redis' own default (appendfsync
 * everysec) promises.
 *
 * Files carry their owner (`pid-startMs`) in the name, so several processes may share a
 * directory:
 *   <stream>.open.<owner>.<n>.jsonl      being written by <owner>
 *   <stream>.sealed.<owner>.<n>.jsonl    closed; anyone may replay it
 *   <stream>.replay.<owner>.<from>.jsonl claimed (atomic rename) by <owner> for replay
 * An open or claimed file whose owner process is dead is an orphan and is replayed too (after
 * a kill -9, the next start picks it up). A file is deleted only after every line of it was
 * acknowledged by Redis; a replay cut short is done again from the start, which duplicates
 * stream entries, never rows: event ids make the inserts idempotent.
 */
export class EventSpool {
  private readonly dir: string;
  private readonly stream: string;
  private readonly owner: string;
  private file: FileHandle | null = null;
  private filePath = '';
  private size = 0;
  private segment = 0;
  /** Serialises every file operation: writes, seal and claims never interleave. */
  private chain: Promise<unknown> = Promise.resolve();
  private spooled = 0;

  constructor(dir: string, stream: string, owner = `${process.pid}-${Date.now()}`) {
    this.dir = dir;
    this.stream = stream;
    this.owner = owner;
  }

  /** Events this process spooled that were not replayed yet. */
  get pendingEvents(): number {
    return this.spooled;
  }

  /** Appends batches as lines and fdatasyncs; resolves once they are on disk. */
  append(lines: readonly EventsJson[], events: number): Promise<void> {
    return this.serial(async () => {
      if (!this.file) {
        await mkdir(this.dir, { recursive: true });
        this.segment += 1;
        this.filePath = join(this.dir, `${this.stream}.open.${this.owner}.${this.segment}.jsonl`);
        this.file = await open(this.filePath, 'a');
        this.size = 0;
      }
      const text = lines.join('\n') + '\n';
      try {
        await this.file.write(text);
        await this.file.datasync();
      } catch (err) {
        // A partial write would glue half a batch to the next line: cut it off again.
        await this.file.truncate(this.size).catch(() => undefined);
        throw err;
      }
      this.size += Buffer.byteLength(text);
      this.spooled += events;
    });
  }

  /** Closes the file being written, so a replay sees all of it. */
  seal(): Promise<void> {
    return this.serial(async () => {
      if (!this.file) return;
      const from = this.filePath;
      await this.file.close();
      this.file = null;
      await rename(from, from.replace('.open.', '.sealed.'));
    });
  }

  /**
   * Claims every replayable file (sealed ones, this process' own claims, orphans of dead
   * processes) by renaming it to this owner. Order does not matter: see the class comment.
   */
  claimAll(): Promise<string[]> {
    return this.serial(async () => {
      let names: string[];
      try {
        names = await readdir(this.dir);
      } catch {
        return [];
      }
      const claimed: string[] = [];
      for (const name of names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) {
        const f = parseName(name, this.stream);
        if (!f) continue;
        const mine = f.owner === this.owner;
        if (f.state === 'replay' && mine) {
          claimed.push(join(this.dir, name));
          continue;
        }
        if (f.state === 'open' && (mine || ownerAlive(f.owner, this.owner))) continue;
        if (f.state === 'replay' && ownerAlive(f.owner, this.owner)) continue;
        const to = join(this.dir, `${this.stream}.replay.${this.owner}.${f.owner}_${f.rest}`);
        try {
          await rename(join(this.dir, name), to);
          claimed.push(to);
        } catch {
          // Another process claimed it first.
        }
      }
      return claimed;
    });
  }

  /** The complete batches of a claimed file (a torn last line is dropped). */
  async read(path: string): Promise<ReturnType<typeof spoolLines>> {
    return spoolLines(await readFile(path, 'utf8'));
  }

  /** Deletes a replayed file; if this process had spooled it, its `events` leave the pending count. */
  async done(path: string, events: number): Promise<void> {
    await unlink(path);
    if (path.includes(`.replay.${this.owner}.${this.owner}_`)) this.spooled = Math.max(0, this.spooled - events);
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      await this.file?.close();
      this.file = null;
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

interface SpoolName {
  state: 'open' | 'sealed' | 'replay';
  owner: string;
  rest: string;
}

function parseName(name: string, stream: string): SpoolName | null {
  if (!name.startsWith(`${stream}.`) || !name.endsWith('.jsonl')) return null;
  const m = /^(open|sealed|replay)\.(\d+-\d+)\.(.+)\.jsonl$/.exec(name.slice(stream.length + 1));
  if (!m) return null;
  return { state: m[1] as SpoolName['state'], owner: m[2]!, rest: m[3]! };
}

/**
 * Whether the process that owns a file still runs. Our own pid with another start time is a
 * previous incarnation (containers reuse pid 1). Another live process with a reused pid makes
 * us skip its files until it exits: a delay, never a loss.
 */
function ownerAlive(owner: string, me: string): boolean {
  if (owner === me) return true;
  const pid = Number(owner.split('-')[0]);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
