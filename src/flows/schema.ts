import { z } from 'zod';

/**
 * The IVR flow format: one JSON file per flow in ivr-flows/. Every node names the next node
 * for each of its outcomes explicitly; nothing falls through. The JSON Schema that editors use
 * (`$schema`) is generated from this module (`hotline flows schema`).
 */

export const LANGUAGES = ['zh', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

const NodeName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'node names are lower_snake_case, at most 64 characters');
const VarName = z.string().regex(/^[a-z][a-zA-Z0-9_]{0,63}$/, 'variable names start with a lower-case letter');
const Ms = (max: number) => z.number().int().min(500).max(max);

/**
 * A media reference: `prompt:<name>` (resolved per call language from the prompt catalog) or
 * an ARI media URI (`sound:`, `digits:`, `number:`, `tone:`, `recording:`). `{{var}}` inserts a
 * call variable; only digits, letters and `-_.` survive in a substituted value.
 */
export const Media = z
  .string()
  .regex(/^(prompt|sound|digits|number|tone|recording):[A-Za-z0-9_\-./{}]+$/, 'media is prompt:|sound:|digits:|number:|tone:|recording: followed by a name');
export const Prompts = z.array(Media).min(1).max(10);

/** Conditions are data, never code: a small JSON-logic-like language. */
export type Condition =
  | { var: string; eq: string | number | boolean }
  | { var: string; ne: string | number | boolean }
  | { var: string; in: Array<string | number> }
  | { var: string; gt: number }
  | { var: string; gte: number }
  | { var: string; lt: number }
  | { var: string; lte: number }
  | { var: string; matches: string }
  | { var: string; exists: boolean }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition };

const Scalar = z.union([z.string().max(256), z.number(), z.boolean()], { error: 'a value is a string, number or boolean' });
export const ConditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ var: VarName, eq: Scalar }),
    z.strictObject({ var: VarName, ne: Scalar }),
    z.strictObject({ var: VarName, in: z.array(z.union([z.string().max(256), z.number()])).min(1).max(100) }),
    z.strictObject({ var: VarName, gt: z.number() }),
    z.strictObject({ var: VarName, gte: z.number() }),
    z.strictObject({ var: VarName, lt: z.number() }),
    z.strictObject({ var: VarName, lte: z.number() }),
    z.strictObject({
      var: VarName,
      matches: z.string().max(200).refine(isSafeRegex, 'pattern must be a valid regular expression without nested quantifiers'),
    }),
    z.strictObject({ var: VarName, exists: z.boolean() }),
    z.strictObject({ all: z.array(ConditionSchema).min(1).max(20) }),
    z.strictObject({ any: z.array(ConditionSchema).min(1).max(20) }),
    z.strictObject({ not: ConditionSchema }),
  ], { error: 'a condition is { var, one of eq, ne, in, gt, gte, lt, lte, matches, exists } or { all: [...] } or { any: [...] } or { not: condition }' }),
);

/** Rejects invalid patterns and the classic catastrophic-backtracking shape `(x+)+`. */
export function isSafeRegex(p: string): boolean {
  try {
    new RegExp(p);
  } catch {
    return false;
  }
  return !hasNestedQuantifier(p);
}

/** A repeated group (+, *, {n,}, {n,m}) whose body repeats too (+, *, ?, {n,m}, or a repeated inner group). */
function hasNestedQuantifier(p: string): boolean {
  const open: boolean[] = [];
  let closed: boolean | null = null;
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') { i++; closed = null; continue; }
    if (inClass) { if (c === ']') inClass = false; continue; }
    if (c === '[') { inClass = true; closed = null; continue; }
    if (c === '(') { open.push(false); closed = null; continue; }
    if (c === ')') { closed = open.pop() ?? false; continue; }
    const brace = c === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i)) : null;
    const variable = c === '+' || c === '*' || (brace !== null && brace[2] !== undefined && brace[3] !== brace[1]);
    const quant = variable || c === '?' || brace !== null;
    if (quant) {
      if (closed === true && variable) return true;
      if (open.length && (variable || c === '?')) open[open.length - 1] = true;
      if (brace) i += brace[0].length - 1;
      closed = null;
      continue;
    }
    closed = null;
  }
  return false;
}

const Digit = z.string().regex(/^[0-9*#]$/, 'a single DTMF key: 0-9, * or #');
const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'time as HH:MM');
const Day = z.string().refine((d) => /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(Date.parse(d + 'T00:00:00Z')) && new Date(d + 'T00:00:00Z').toISOString().startsWith(d), 'date as YYYY-MM-DD');
const Ranges = z.array(z.tuple([HHMM, HHMM])).max(6);

const base = { description: z.string().max(500).optional() };

export const PlayNode = z.strictObject({
  ...base,
  type: z.literal('play'),
  prompts: Prompts,
  /** Let a key cut the prompt short; the key is then dropped (menus take their own keys). */
  bargeIn: z.boolean().default(false),
  next: NodeName,
});

export const MenuNode = z.strictObject({
  ...base,
  type: z.literal('menu'),
  prompts: Prompts,
  options: z.record(Digit, NodeName).refine((o) => Object.keys(o).length > 0, 'a menu needs at least one option'),
  timeoutMs: Ms(30_000).default(5_000),
  maxRetries: z.number().int().min(0).max(5).default(2),
  invalidPrompts: Prompts.optional(),
  noInputPrompts: Prompts.optional(),
  onExhausted: NodeName,
  /** Counts toward the first-level key distribution in reports. */
  firstLevel: z.boolean().default(false),
});

export const GatherNode = z.strictObject({
  ...base,
  type: z.literal('gather'),
  prompts: Prompts,
  minDigits: z.number().int().min(1).max(32).default(1),
  maxDigits: z.number().int().min(1).max(32),
  terminator: Digit.optional(),
  timeoutMs: Ms(30_000).default(5_000),
  pattern: z.string().max(200).refine(isSafeRegex, 'pattern must be a valid regular expression without nested quantifiers').optional(),
  into: VarName,
  maxRetries: z.number().int().min(0).max(5).default(2),
  invalidPrompts: Prompts.optional(),
  next: NodeName,
  onExhausted: NodeName,
});

export const BranchNode = z.strictObject({
  ...base,
  type: z.literal('branch'),
  conditions: z.array(z.strictObject({ when: ConditionSchema, next: NodeName })).min(1).max(50),
  default: NodeName,
});

export const ScheduleNode = z.strictObject({
  ...base,
  type: z.literal('schedule'),
  timezone: z.string().refine(isTimeZone, 'unknown IANA time zone'),
  /** Opening hours per weekday (mon..sun); a missing day is closed. */
  weekly: z.partialRecord(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']), Ranges),
  holidays: z.array(Day).max(366).default([]),
  /** Days with their own hours (e.g. a working Sunday before a holiday week). */
  special: z.record(Day, Ranges).default({}),
  open: NodeName,
  closed: NodeName,
  holiday: NodeName,
});

export const SetNode = z.strictObject({
  ...base,
  type: z.literal('set'),
  assign: z.record(VarName, Scalar).refine((a) => Object.keys(a).length > 0, 'set needs at least one assignment'),
  next: NodeName,
});

export const HttpNode = z.strictObject({
  ...base,
  type: z.literal('http'),
  /** A service name from configuration (HTTP_SERVICES): the base URL never comes from the caller. */
  service: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/),
  path: z.string().regex(/^\/[A-Za-z0-9_\-./{}]*$/, 'path starts with / and uses URL-safe characters and {{var}}').max(200),
  timeoutMs: Ms(10_000).default(2_000),
  /** Variable <- dotted path into the JSON response, e.g. { "tier": "customer.tier" }. */
  map: z.record(VarName, z.string().regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/)).default({}),
  next: NodeName,
  onError: NodeName,
});

export const LanguageNode = z.strictObject({
  ...base,
  type: z.literal('language'),
  language: z.enum(LANGUAGES),
  next: NodeName,
});

export const QueueNode = z.strictObject({
  ...base,
  type: z.literal('queue'),
  queue: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/),
  skills: z.array(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/)).max(10).default([]),
  priority: z.number().int().min(0).max(10).default(0),
  /** Asterisk music-on-hold class the caller hears while waiting. */
  mohClass: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/).default('default'),
  /** After the agent hangs up, the caller continues here (the satisfaction survey). */
  next: NodeName,
  /** When the queue's maximum wait is reached; default: `next`. */
  onTimeout: NodeName.optional(),
  /** A key that leaves the queue while waiting (e.g. voicemail), and where to. */
  exitKey: Digit.optional(),
  onExit: NodeName.optional(),
  /**
   * A key that turns the wait into a callback request: the caller keeps their place, hears a
   * confirmation and hangs up; an agent is called first, then the caller.
   */
  callbackKey: Digit.optional(),
  /** Said after each position / wait announcement, e.g. which keys the caller may press. */
  prompts: Prompts.optional(),
});

export const TransferNode = z.strictObject({
  ...base,
  type: z.literal('transfer'),
  number: z.string().regex(/^(\+?[0-9]{2,20}|\{\{[a-z][a-zA-Z0-9_]*\}\})$/, 'an E.164-like number or one {{variable}}'),
  prompts: Prompts.optional(),
});

export const VoicemailNode = z.strictObject({
  ...base,
  type: z.literal('voicemail'),
  prompts: Prompts,
  maxSeconds: z.number().int().min(5).max(300).default(60),
  next: NodeName,
});

export const SmsNode = z.strictObject({
  ...base,
  type: z.literal('sms'),
  /** Template name known to the SMS sender; variables listed are sent along. */
  template: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/),
  to: z.string().regex(/^\{\{[a-z][a-zA-Z0-9_]*\}\}$|^\+?[0-9]{3,20}$/, 'an E.164-like number or one {{variable}}').default('{{caller}}'),
  variables: z.array(VarName).max(20).default([]),
  next: NodeName,
});

export const SurveyNode = z.strictObject({
  ...base,
  type: z.literal('survey'),
  question: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/),
  prompts: Prompts,
  scale: z.number().int().min(2).max(9).default(5),
  timeoutMs: Ms(30_000).default(6_000),
  maxRetries: z.number().int().min(0).max(3).default(1),
  invalidPrompts: Prompts.optional(),
  next: NodeName,
  onNoAnswer: NodeName,
});

export const SubflowNode = z.strictObject({
  ...base,
  type: z.literal('subflow'),
  flow: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/),
  /** Where to continue when the subflow reaches a `return` node. */
  next: NodeName,
});

export const ReturnNode = z.strictObject({ ...base, type: z.literal('return') });

export const GotoNode = z.strictObject({
  ...base,
  type: z.literal('goto'),
  /** Another flow (its start node), without coming back. */
  flow: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/),
});

export const HangupNode = z.strictObject({
  ...base,
  type: z.literal('hangup'),
  prompts: Prompts.optional(),
  reason: z.enum(['completed', 'closed', 'not_in_service', 'error']).default('completed'),
});

export const NodeSchema = z.discriminatedUnion('type', [
  PlayNode,
  MenuNode,
  GatherNode,
  BranchNode,
  ScheduleNode,
  SetNode,
  HttpNode,
  LanguageNode,
  QueueNode,
  TransferNode,
  VoicemailNode,
  SmsNode,
  SurveyNode,
  SubflowNode,
  ReturnNode,
  GotoNode,
  HangupNode,
]);

export const FlowSchema = z.strictObject({
  $schema: z.string().optional(),
  id: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'flow ids are lower-case letters, digits, - and _'),
  version: z.number().int().min(1),
  name: z.string().min(1).max(100),
  description: z.string().max(1000).default(''),
  language: z.enum(LANGUAGES),
  start: NodeName,
  nodes: z
    .record(NodeName, NodeSchema)
    .refine((n) => Object.keys(n).length > 0, 'a flow needs at least one node')
    .refine((n) => Object.keys(n).length <= 200, 'a flow has at most 200 nodes'),
});

export type Flow = z.output<typeof FlowSchema>;
export type FlowNode = z.output<typeof NodeSchema>;
export type NodeOf<T extends FlowNode['type']> = Extract<FlowNode, { type: T }>;

function isTimeZone(tz: string): boolean {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone === tz;
  } catch {
    return false;
  }
}

/** The JSON Schema editors use through `$schema`. */
export function flowJsonSchema(): unknown {
  return z.toJSONSchema(FlowSchema, { io: 'input', unrepresentable: 'any' });
}
