import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { toMermaid } from '../flows/graph.ts';
import { loadFlowDir, type FileErrors, type FlowBundle } from '../flows/loader.ts';
import { flowJsonSchema } from '../flows/schema.ts';
import {
  DEFAULT_CRM_RECORD,
  FlowSimulator,
  formatEntry,
  formatTranscript,
  parseLooseJson,
  parseScript,
  ScriptError,
  type HttpAnswer,
} from '../flows/simulator.ts';

/**
 * `hotline flows ...`: validate, draw, describe and try IVR flows. Reads only the flows
 * folder: no configuration, Asterisk, Postgres or Redis.
 */

export const FLOWS_USAGE = `usage: hotline flows <command>
  validate [files...]       validate the flows folder (or only the named flow files)
  graph <flowId>            print the flow as a Mermaid flowchart
  schema [--no-write]       print the flow JSON Schema and write <flows>/flow.schema.json
  simulate <flowId> [--caller N] [--dialed N] [--at ISO-time] [--script "1,2,t,ok:{...},h"]
                    [--json] [--http-default '{json}'|err] [--max-steps N]
                            run a flow without a phone: interactive on a terminal, or a script
The flows folder is $FLOWS_DIR, default <repo>/ivr-flows.

Script actions (comma separated): 0-9*# keys (a key during a menu prompt barges in; 123# presses
each), !5 key during any prompt, t timeout, w let the prompt finish, h hang up,
ok / ok:{json} / ok:200:{json} / err / err:504 answer the pending HTTP request
(unanswered requests get the default, ${JSON.stringify(DEFAULT_CRM_RECORD)}).
`;

export interface FlowsIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** Files in the flows folder that are not flows (as in loader.ts). */
const SPECIAL = new Set(['prompts.json', 'queues.json', 'numbers.json', 'flow.schema.json']);

export async function flowsCommand(argv: readonly string[], io: FlowsIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'validate':
        return await validate(rest, io);
      case 'graph':
        return await graph(rest, io);
      case 'schema':
        return await schema(rest, io);
      case 'simulate':
        return await simulate(rest, io);
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(FLOWS_USAGE);
        return 0;
      default:
        io.stderr.write(FLOWS_USAGE);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ScriptError) {
      io.stderr.write(`hotline flows: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

class UsageError extends Error {}

export function flowsDir(io: Pick<FlowsIo, 'env' | 'cwd'>): string {
  return io.env.FLOWS_DIR ? resolve(io.cwd, io.env.FLOWS_DIR) : join(REPO, 'ivr-flows');
}

/** Services flows may call: crm, plus the names configured in HTTP_SERVICES (name=url,...). */
export function knownServices(env: FlowsIo['env']): string[] {
  const names = new Set(['crm']);
  for (const pair of (env.HTTP_SERVICES ?? '').split(',')) {
    const m = /^\s*([a-z][a-z0-9_-]{0,31})=/.exec(pair);
    if (m) names.add(m[1]!);
  }
  return [...names];
}

function args<const O extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true, allowNegative: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function display(io: FlowsIo, dir: string, file: string): string {
  const full = join(dir, file);
  const rel = relative(io.cwd, full);
  return rel && !rel.startsWith('..') ? rel : full;
}

function printProblems(io: FlowsIo, dir: string, problems: readonly FileErrors[]): void {
  for (const p of problems) for (const e of p.errors) io.stdout.write(`${display(io, dir, p.file)}: ${e.path}: ${e.message}\n`);
}

async function validate(argv: readonly string[], io: FlowsIo): Promise<number> {
  const { positionals } = args(argv, {});
  const services = knownServices(io.env);
  const defaultDir = flowsDir(io);
  // Named files are validated in their own folder (its catalog and sibling flows).
  const groups = new Map<string, string[]>();
  if (!positionals.length) groups.set(defaultDir, []);
  for (const f of positionals) {
    const asPath = resolve(io.cwd, f);
    const [dir, name] = existsSync(asPath) && (f.includes('/') || f.endsWith('.json')) ? [dirname(asPath), basename(asPath)] : [defaultDir, f.endsWith('.json') ? f : `${f}.json`];
    groups.set(dir, [...(groups.get(dir) ?? []), name]);
  }
  let failed = false;
  let count = 0;
  for (const [dir, only] of groups) {
    let files: string[];
    try {
      files = await readdir(dir);
    } catch (err) {
      io.stdout.write(`${dir}: (folder): ${(err as Error).message}\n`);
      failed = true;
      continue;
    }
    const missing = only.filter((n) => !files.includes(n));
    for (const n of missing) io.stdout.write(`${display(io, dir, n)}: (file): no such flow file\n`);
    if (missing.length) failed = true;
    const flowFiles = only.filter((n) => files.includes(n) && !SPECIAL.has(n));
    const bundle = await loadFlowDir(dir, services, only.length ? flowFiles : undefined);
    printProblems(io, dir, bundle.problems);
    if (bundle.problems.length) failed = true;
    count += bundle.flows.length;
  }
  if (failed) return 1;
  io.stdout.write(`ok ${count} flows\n`);
  return 0;
}

async function loadOne(io: FlowsIo, flowId: string | undefined, what: string): Promise<{ bundle: FlowBundle; dir: string } | number> {
  if (!flowId) throw new UsageError(`${what} needs a flow id`);
  const dir = flowsDir(io);
  const bundle = await loadFlowDir(dir, knownServices(io.env));
  if (!bundle.flows.some((f) => f.id === flowId)) {
    const known = bundle.flows.map((f) => f.id).join(', ');
    io.stderr.write(`hotline flows: no valid flow "${flowId}" in ${dir} (valid flows: ${known || 'none'})\n`);
    printProblems({ ...io, stdout: io.stderr }, dir, bundle.problems);
    return 1;
  }
  if (bundle.problems.length) io.stderr.write(`warning: ${bundle.problems.length} file(s) in ${dir} have errors; run hotline flows validate\n`);
  return { bundle, dir };
}

async function graph(argv: readonly string[], io: FlowsIo): Promise<number> {
  const { positionals } = args(argv, {});
  const loaded = await loadOne(io, positionals[0], 'graph');
  if (typeof loaded === 'number') return loaded;
  io.stdout.write(toMermaid(loaded.bundle.flows.find((f) => f.id === positionals[0])!));
  return 0;
}

/** The JSON Schema text as committed in ivr-flows/flow.schema.json. */
export function flowSchemaText(): string {
  return `${JSON.stringify(flowJsonSchema(), null, 2)}\n`;
}

async function schema(argv: readonly string[], io: FlowsIo): Promise<number> {
  const { values } = args(argv, { write: { type: 'boolean', default: true } });
  const text = flowSchemaText();
  io.stdout.write(text);
  if (values.write) {
    const file = join(flowsDir(io), 'flow.schema.json');
    const old = await readFile(file, 'utf8').catch(() => undefined);
    if (old !== text) {
      await writeFile(file, text);
      io.stderr.write(`wrote ${display(io, dirname(file), basename(file))}\n`);
    }
  }
  return 0;
}

async function simulate(argv: readonly string[], io: FlowsIo): Promise<number> {
  const { values, positionals } = args(argv, {
    caller: { type: 'string', default: '13800138000' },
    dialed: { type: 'string' },
    at: { type: 'string' },
    script: { type: 'string' },
    json: { type: 'boolean', default: false },
    'http-default': { type: 'string' },
    'max-steps': { type: 'string', default: '500' },
  });
  const flowId = positionals[0];
  const loaded = await loadOne(io, flowId, 'simulate');
  if (typeof loaded === 'number') return loaded;
  const { bundle } = loaded;

  const at = values.at ? new Date(values.at) : new Date();
  if (Number.isNaN(at.getTime())) throw new UsageError(`--at: not a date: ${values.at}`);
  const maxSteps = Number(values['max-steps']);
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new UsageError(`--max-steps: not a positive integer: ${values['max-steps']}`);
  const httpDefault: HttpAnswer | undefined =
    values['http-default'] === undefined ? undefined : values['http-default'] === 'err' ? { ok: false, status: 503 } : { ok: true, status: 200, body: parseLooseJson(values['http-default']) };
  const dialed = values.dialed ?? Object.entries(bundle.numbers).find(([, id]) => id === flowId)?.[0] ?? '';

  const sim = new FlowSimulator({
    flows: bundle.flows,
    flowId: flowId!,
    prompts: bundle.catalog.prompts,
    vars: { caller: values.caller, dialed },
    at,
    callId: 'sim',
    ...(httpDefault ? { httpDefault } : {}),
    maxSteps,
  });

  const scriptText = values.script ?? (io.stdin.isTTY ? undefined : await readAll(io.stdin));
  if (scriptText === undefined) return interactive(sim, io, flowId!, values.json);

  const tr = sim.run(parseScript(scriptText));
  io.stdout.write(values.json ? `${JSON.stringify(tr, null, 2)}\n` : formatTranscript(tr));
  return tr.outcome === 'ended' || tr.outcome === 'waiting' ? 0 : 1;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text;
}

async function interactive(sim: FlowSimulator, io: FlowsIo, flowId: string, json: boolean): Promise<number> {
  const start = sim.transcript().startedAt;
  let shown = 0;
  const flush = () => {
    for (const e of sim.entries.slice(shown)) {
      const line = formatEntry(e, start);
      if (line !== undefined) io.stdout.write(`${line}\n`);
    }
    shown = sim.entries.length;
  };
  const hint: Record<typeof sim.waitingFor, string> = {
    key: 'key 0-9*#, t timeout, h hang up',
    prompt: 'key to barge in, Enter lets it finish, t, h',
    http: 'ok:{json} or err, Enter for the default answer',
    recording: 'Enter or # ends the message, h hangs up',
    ended: '',
    nothing: '',
  };
  io.stdout.write(`simulating ${flowId} at ${sim.now.toISOString()} (q quits)\n`);
  sim.perform([], { interactive: true });
  flush();

  const rl = createInterface({ input: io.stdin, output: io.stdout as NodeJS.WritableStream, terminal: true });
  const ask = () => {
    rl.setPrompt(`[${sim.state.node} · ${sim.waitingFor}] ${hint[sim.waitingFor]} > `);
    rl.prompt();
  };
  if (!sim.done) {
    ask();
    for await (const line of rl) {
      const text = line.trim();
      if (text === 'q' || text === 'quit') break;
      try {
        sim.perform(text === '' ? [{ kind: 'wait' }] : parseScript(text), { interactive: true });
      } catch (err) {
        if (!(err instanceof ScriptError)) throw err;
        io.stdout.write(`${err.message}\n`);
      }
      flush();
      if (sim.done) break;
      ask();
    }
  }
  rl.close();
  const tr = sim.transcript();
  io.stdout.write(json ? `${JSON.stringify(tr, null, 2)}\n` : `\n${formatTranscript({ ...tr, entries: [] })}`);
  return 0;
}
