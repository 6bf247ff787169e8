import { QUEUE_PROMPTS } from './queue-prompts.ts';
import { ALL_NUMBER_PROMPTS, SELF_SPOKEN } from './say-number.ts';
import type { z } from 'zod';
import type { FlowCatalog } from './catalog.ts';
import { FlowSchema, LANGUAGES, type Flow, type FlowNode } from './schema.ts';
import { outgoing, waitsForCaller } from './graph.ts';

export interface FlowError {
  /** JSON path into the flow document, e.g. `nodes.main_menu.options.1`. */
  readonly path: string;
  readonly message: string;
}

export type Validation = { ok: true; flow: Flow } | { ok: false; errors: FlowError[] };

/**
 * Validates a flow document completely: its shape (zod, with JSON paths) and then every
 * reference and property that a schema cannot express. Returns all errors at once.
 */
export function validateFlow(doc: unknown, catalog: FlowCatalog): Validation {
  const parsed = FlowSchema.safeParse(doc);
  if (!parsed.success) return { ok: false, errors: zodErrors(parsed.error) };
  const flow = parsed.data;
  const errors = [...checkReferences(flow, catalog), ...checkGraph(flow)];
  return errors.length ? { ok: false, errors } : { ok: true, flow };
}

export function zodErrors(error: z.ZodError): FlowError[] {
  const out: FlowError[] = [];
  const typeErrorAt = new Set<string>();
  const add = (issue: z.core.$ZodIssue, prefix: PropertyKey[]): void => {
    const path = [...prefix, ...issue.path];
    const at = path.map(String).join('.') || '(root)';
    if (issue.code === 'invalid_union' && issue.errors.length) {
      // Precise errors when exactly one branch fits the keys the author wrote.
      const fits = issue.errors.filter((errs) => !errs.some((e) => e.code === 'unrecognized_keys' && e.path.length === 0));
      if (fits.length === 1) return fits[0]!.forEach((e) => add(e, path));
    }
    // A bad record key: the key schema's own message says what a key must look like.
    const message = issue.code === 'invalid_key' && issue.issues[0] ? issue.issues[0].message : issue.message;
    // A length check that ran on a value of the wrong type adds nothing.
    if (typeErrorAt.has(at)) return;
    if (issue.code === 'invalid_type') typeErrorAt.add(at);
    out.push({ path: at, message });
  };
  for (const issue of error.issues) add(issue, []);
  return out;
}

/** Saying a number in a language Hotline speaks itself needs its number words in the catalog. */
function numberPromptErrors(catalog: FlowCatalog, path: string): FlowError[] {
  const errors: FlowError[] = [];
  for (const lang of SELF_SPOKEN)
    for (const name of ALL_NUMBER_PROMPTS)
      if (!catalog.prompts.get(name)?.[lang]) errors.push({ path, message: `saying numbers needs prompt "${name}" (${lang}) in the prompt catalog` });
  return errors;
}

function checkReferences(flow: Flow, catalog: FlowCatalog): FlowError[] {
  const errors: FlowError[] = [];
  const names = new Set(Object.keys(flow.nodes));
  if (!names.has(flow.start)) errors.push({ path: 'start', message: `start node "${flow.start}" does not exist` });

  for (const [name, node] of Object.entries(flow.nodes)) {
    const at = `nodes.${name}`;
    for (const edge of outgoing(node)) {
      if (!names.has(edge.to)) errors.push({ path: `${at}.${edge.field}`, message: `next node "${edge.to}" does not exist` });
    }
    for (const { field, media } of mediaOf(node)) {
      const m = /^prompt:(.+)$/.exec(media);
      if (m) {
        const prompt = catalog.prompts.get(m[1]!);
        if (!prompt) errors.push({ path: `${at}.${field}`, message: `prompt "${m[1]}" is not in the prompt catalog` });
        else
          for (const lang of LANGUAGES)
            if (!prompt[lang]) errors.push({ path: `${at}.${field}`, message: `prompt "${m[1]}" has no ${lang} version` });
      }
      if (!templateOk(media)) errors.push({ path: `${at}.${field}`, message: 'templates are {{variable}} with a variable name inside' });
      if (/^(number|digits):/.test(media)) errors.push(...numberPromptErrors(catalog, `${at}.${field}`));
    }
    switch (node.type) {
      case 'queue': {
        if ((node.exitKey === undefined) !== (node.onExit === undefined)) {
          errors.push({ path: `${at}.${node.exitKey === undefined ? 'exitKey' : 'onExit'}`, message: 'exitKey and onExit go together' });
        }
        if (node.callbackKey !== undefined && node.callbackKey === node.exitKey) {
          errors.push({ path: `${at}.callbackKey`, message: 'callbackKey and exitKey must differ' });
        }
        for (const name of Object.values(QUEUE_PROMPTS)) {
          const prompt = catalog.prompts.get(name);
          for (const lang of LANGUAGES)
            if (!prompt?.[lang]) errors.push({ path: `${at}.type`, message: `a queue needs prompt "${name}" (${lang}) in the prompt catalog` });
        }
        // Position and wait announcements say numbers.
        errors.push(...numberPromptErrors(catalog, `${at}.type`));
        const q = catalog.queues.get(node.queue);
        if (!q) errors.push({ path: `${at}.queue`, message: `unknown queue "${node.queue}"` });
        node.skills.forEach((s, i) => {
          if (!catalog.skills.has(s)) errors.push({ path: `${at}.skills.${i}`, message: `unknown skill "${s}"` });
        });
        break;
      }
      case 'http':
        if (!catalog.services.has(node.service)) errors.push({ path: `${at}.service`, message: `unknown http service "${node.service}" (configure HTTP_SERVICES)` });
        if (!templateOk(node.path)) errors.push({ path: `${at}.path`, message: 'templates are {{variable}} with a variable name inside' });
        break;
      case 'subflow':
      case 'goto':
        if (node.flow === flow.id) errors.push({ path: `${at}.flow`, message: `a flow cannot ${node.type} into itself` });
        else if (!catalog.flowIds.has(node.flow)) errors.push({ path: `${at}.flow`, message: `unknown flow "${node.flow}"` });
        break;
      case 'set':
        for (const [k, value] of Object.entries(node.assign))
          if (typeof value === 'string' && !templateOk(value)) errors.push({ path: `${at}.assign.${k}`, message: 'templates are {{variable}} with a variable name inside' });
        break;
      case 'gather':
        if (node.minDigits > node.maxDigits) errors.push({ path: `${at}.minDigits`, message: 'minDigits is larger than maxDigits' });
        break;
      case 'schedule':
        for (const [day, ranges] of Object.entries({ ...node.weekly, ...node.special })) {
          (ranges ?? []).forEach(([from, to], i) => {
            const where = day in node.special ? `special.${day}` : `weekly.${day}`;
            if (from >= to) errors.push({ path: `${at}.${where}.${i}`, message: `opening ${from} is not before closing ${to}` });
          });
        }
        break;
      default:
        break;
    }
  }
  return errors;
}

/** Unreachable nodes, and loops that can spin without waiting for the caller. */
function checkGraph(flow: Flow): FlowError[] {
  const errors: FlowError[] = [];
  const nodes = flow.nodes;
  if (!(flow.start in nodes)) return errors;

  const seen = new Set<string>([flow.start]);
  const todo = [flow.start];
  while (todo.length) {
    const n = nodes[todo.pop()!];
    if (!n) continue;
    for (const e of outgoing(n)) if (e.to in nodes && !seen.has(e.to)) (seen.add(e.to), todo.push(e.to));
  }
  for (const name of Object.keys(nodes)) {
    if (!seen.has(name)) errors.push({ path: `nodes.${name}`, message: `node "${name}" is unreachable from start "${flow.start}"` });
  }

  // A cycle among edges out of nodes that do not wait for the caller spins forever.
  const color = new Map<string, 'grey' | 'black'>();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (name: string): void => {
    color.set(name, 'grey');
    stack.push(name);
    const node = nodes[name]!;
    if (!waitsForCaller(node)) {
      for (const e of outgoing(node)) {
        if (!(e.to in nodes)) continue;
        const c = color.get(e.to);
        if (c === 'grey') {
          const cycle = [...stack.slice(stack.indexOf(e.to)), e.to];
          const key = [...cycle].sort().join(',');
          if (!reported.has(key)) {
            reported.add(key);
            errors.push({ path: `nodes.${e.to}`, message: `loop without caller input: ${cycle.join(' -> ')}` });
          }
        } else if (!c) visit(e.to);
      }
    }
    stack.pop();
    color.set(name, 'black');
  };
  for (const name of Object.keys(nodes)) if (!color.has(name)) visit(name);
  return errors;
}

function mediaOf(node: FlowNode): Array<{ field: string; media: string }> {
  const out: Array<{ field: string; media: string }> = [];
  const add = (field: string, list: readonly string[] | undefined) => list?.forEach((media, i) => out.push({ field: `${field}.${i}`, media }));
  if ('prompts' in node) add('prompts', node.prompts);
  if ('invalidPrompts' in node) add('invalidPrompts', node.invalidPrompts);
  if ('noInputPrompts' in node) add('noInputPrompts', node.noInputPrompts);
  return out;
}

function templateOk(s: string): boolean {
  return s.replace(/\{\{[a-z][a-zA-Z0-9_]*\}\}/g, '').search(/[{}]/) === -1;
}
