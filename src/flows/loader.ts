import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { FlowCatalog } from './catalog.ts';
import { LANGUAGES, type Flow } from './schema.ts';
import { validateFlow, zodErrors, type FlowError } from './validate.ts';

/** Files in the flows folder that are not flows. */
const SPECIAL = new Set(['prompts.json', 'queues.json', 'numbers.json', 'agents.json', 'flow.schema.json']);

const PromptsFile = z.object({
  prompts: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), z.partialRecord(z.enum(LANGUAGES), z.string().min(1).max(500))),
});
const QueuesFile = z.object({
  skills: z.array(z.string()),
  queues: z.record(z.string(), z.object({ skills: z.array(z.string()) })),
});
const NumbersFile = z.object({ numbers: z.record(z.string().regex(/^[0-9*#+]{1,32}$/), z.string()) });

export interface FileErrors {
  readonly file: string;
  readonly errors: readonly FlowError[];
}

export interface FlowBundle {
  readonly flows: readonly Flow[];
  readonly catalog: FlowCatalog;
  /** Dialed number -> flow id. */
  readonly numbers: Readonly<Record<string, string>>;
  /** Every problem found, per file; empty when everything is valid. */
  readonly problems: readonly FileErrors[];
}

/**
 * Loads and validates the whole flows folder: the catalog files, then every flow against
 * the catalog and each other. `only` limits which flow files are validated (all are still
 * read, since flows refer to each other).
 */
export async function loadFlowDir(dir: string, services: Iterable<string>, only?: readonly string[]): Promise<FlowBundle> {
  const problems: FileErrors[] = [];
  const readJson = async (file: string): Promise<unknown> => {
    try {
      return JSON.parse(await readFile(join(dir, file), 'utf8'));
    } catch (err) {
      problems.push({ file, errors: [{ path: '(file)', message: (err as Error).message }] });
      return undefined;
    }
  };
  const parse = <T>(file: string, schema: z.ZodType<T>, doc: unknown, fallback: T): T => {
    if (doc === undefined) return fallback;
    const r = schema.safeParse(doc);
    if (r.success) return r.data;
    problems.push({ file, errors: zodErrors(r.error) });
    return fallback;
  };

  const prompts = parse('prompts.json', PromptsFile, await readJson('prompts.json'), { prompts: {} });
  const queues = parse('queues.json', QueuesFile, await readJson('queues.json'), { skills: [], queues: {} });
  const numbers = parse('numbers.json', NumbersFile, await readJson('numbers.json'), { numbers: {} });

  const files = (await readdir(dir)).filter((f) => f.endsWith('.json') && !SPECIAL.has(f)).sort();
  const docs: Array<{ file: string; doc: unknown }> = [];
  for (const file of files) {
    const doc = await readJson(file);
    if (doc !== undefined) docs.push({ file, doc });
  }
  const flowIds = new Set(docs.map((d) => (d.doc as { id?: unknown })?.id).filter((id): id is string => typeof id === 'string'));
  const catalog: FlowCatalog = {
    prompts: new Map(Object.entries(prompts.prompts)),
    queues: new Map(Object.entries(queues.queues)),
    skills: new Set(queues.skills),
    services: new Set(services),
    flowIds,
  };

  const flows: Flow[] = [];
  const seen = new Map<string, string>();
  for (const { file, doc } of docs) {
    if (only && !only.some((o) => file === o || file === `${o}.json` || join(dir, file) === o)) continue;
    const v = validateFlow(doc, catalog);
    if (!v.ok) {
      problems.push({ file, errors: v.errors });
      continue;
    }
    const dup = seen.get(v.flow.id);
    if (dup) {
      problems.push({ file, errors: [{ path: 'id', message: `flow id "${v.flow.id}" is also used by ${dup}` }] });
      continue;
    }
    seen.set(v.flow.id, file);
    flows.push(v.flow);
  }
  for (const [number, flowId] of Object.entries(numbers.numbers)) {
    if (!flowIds.has(flowId)) problems.push({ file: 'numbers.json', errors: [{ path: `numbers.${number}`, message: `unknown flow "${flowId}"` }] });
  }
  return { flows, catalog, numbers: numbers.numbers, problems };
}
