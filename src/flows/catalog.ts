import type { Language } from './schema.ts';

/**
 * What a flow may refer to besides its own nodes. The validator checks every reference
 * against it, so a flow that names a missing prompt, queue or service never goes live.
 */
export interface FlowCatalog {
  /** Prompt name -> text per language (the audio is generated from it). */
  readonly prompts: ReadonlyMap<string, Readonly<Partial<Record<Language, string>>>>;
  readonly queues: ReadonlyMap<string, { readonly skills: readonly string[] }>;
  readonly skills: ReadonlySet<string>;
  readonly services: ReadonlySet<string>;
  /** Ids of the other flows (for subflow / goto). */
  readonly flowIds: ReadonlySet<string>;
}
