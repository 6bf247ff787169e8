import { z } from 'zod';
import type { AgentSnapshot, AgentStateChange } from '../../routing/types.ts';
import { AGENT_STATES, AgentConfigSchema, QueueConfigSchema } from '../../routing/types.ts';

/**
 * Response shapes more than one route file answers with. Fastify serializes every declared
 * status through its schema (fastify-type-provider-zod), and /docs documents it. A schema is a
 * whitelist: `z.strictObject` where a handler builds the object (a field the schema lacks is a
 * 500 in tests, not a silent leak); `z.object` for objects a store builds, which drops unknown
 * fields, with a compile-time check (`Covers`) that the schema names every field of the store's
 * type, so nothing is dropped by mistake.
 */

/**
 * True when every value of the source type S passes a response schema whose output is O, and
 * O names every field of S, nested objects and array items included: a schema that would drop
 * a field (z.object strips unknown ones) fails to compile.
 */
export type Covers<O, S> = [Writable<S>] extends [O] ? NamesAll<O, S> : false;
/** Readonly arrays and fields are plain JSON once sent. */
type Writable<T> = T extends readonly (infer E)[] ? Writable<E>[] : T extends object ? { -readonly [K in keyof T]: Writable<T[K]> } : T;
type NamesAll<O, S> = [S] extends [readonly (infer E)[]]
  ? [NonNullable<O>] extends [readonly (infer F)[]]
    ? NamesAll<F, E>
    : false
  : [S] extends [object]
    ? [Exclude<keyof S, keyof NonNullable<O>>] extends [never]
      ? false extends { [K in keyof S & keyof NonNullable<O>]-?: NamesAll<NonNullable<O>[K], NonNullable<S[K]>> }[keyof S & keyof NonNullable<O>]
        ? false
        : true
      : false
    : true;

/** Every 4xx: a stable error id, a message for people and, for validation, each failing field's JSON path. */
export const ErrorBody = z
  .strictObject({
    error: z.string().regex(/^[a-z][a-z_]*$/),
    message: z.string(),
    errors: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
  })
  .describe('Refused: `error` is a stable id, `errors` lists each failing field by its JSON path');

/** The same error body under each of `statuses`, for a route's `response` map. */
export function errors<const S extends number>(...statuses: S[]): Record<S, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBody])) as Record<S, typeof ErrorBody>;
}

/**
 * 503: the request may be fine but a part its answer depends on is down; the same body as a
 * refusal, and worth a retry. `database_unavailable` (Postgres not reachable, from the error
 * handler in app.ts) or `audit_unavailable` (an audited-first change whose pending row could
 * not be written, src/http/audit.ts).
 */
export const Unavailable = ErrorBody.describe('Unavailable: `error` is `database_unavailable` (Postgres not reachable) or `audit_unavailable` (the change could not be audited, so it was not made); try again');

/** 204: nothing in the body. */
export const NoContent = z.null().describe('No content');

/** An agent's live routing state (RoutingStore.agentState). */
export const AgentView = z.object({
  id: z.string(),
  endpoint: z.string(),
  skills: z.record(z.string(), z.number()),
  state: z.enum(AGENT_STATES),
  pauseReason: z.string().nullable(),
  lastCallEndedAt: z.number().describe('epoch ms; 0 when none yet'),
  callsToday: z.number(),
  currentCallId: z.string().nullable(),
  currentQueue: z.string().nullable(),
  stateSince: z.number().describe('epoch ms'),
});
true satisfies Covers<z.output<typeof AgentView>, AgentSnapshot>;

/** One accepted state change (login, logout, pause, unpause). */
export const AgentStateChangeView = z.object({
  agentId: z.string(),
  from: z.enum(AGENT_STATES),
  to: z.enum(AGENT_STATES),
  reason: z.string().nullable(),
  at: z.number().describe('epoch ms'),
});
true satisfies Covers<z.output<typeof AgentStateChangeView>, AgentStateChange>;

/** Queue and agent configuration as stored: the same strict schemas that validate an edit. */
export const QueueConfigView = QueueConfigSchema;
export const AgentConfigView = AgentConfigSchema;
