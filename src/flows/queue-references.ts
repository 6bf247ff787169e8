import type { StoredVersion } from '../records/flow-store.ts';
import type { FlowQueueNode } from '../routing/config-edits.ts';
import type { FlowCatalog } from './catalog.ts';

/**
 * The queue nodes of the active flow versions that send callers to `queue`, read from the
 * versions as stored (FlowStore.withActiveVersions), not from an instance's memory, which may
 * not have taken another instance's publish yet. Older versions are not counted, so a queue is
 * free once no active version names it; a call still running an older version then finds the
 * queue gone (enqueue is refused and the caller hears the apology), and a rollback to such a
 * version is refused by the flow validator. The bodies were validated when published; anything
 * that is not a queue node is skipped.
 */
export function queueReferences(active: readonly Pick<StoredVersion, 'flowId' | 'version' | 'body'>[], queue: string): FlowQueueNode[] {
  return active.flatMap((v) => {
    const nodes = (v.body as { nodes?: unknown } | null)?.nodes;
    if (!nodes || typeof nodes !== 'object') return [];
    return Object.entries(nodes as Record<string, { type?: unknown; queue?: unknown } | null>)
      .filter(([, n]) => n?.type === 'queue' && n.queue === queue)
      .map(([node]) => ({ flow: v.flowId, version: v.version, node }));
  });
}

/** The queue part of a routing configuration, as much of it as flows may refer to. */
export interface LiveQueues {
  readonly queues: readonly { readonly name: string; readonly skills: readonly { readonly skill: string }[] }[];
  readonly agents: readonly { readonly skills: Readonly<Record<string, number>> }[];
}

/**
 * What flows may name, from the live routing configuration (queues created or removed through
 * the API count at once): its queues, and as skills those declared in queues.json plus any a
 * live queue or agent uses.
 */
export function liveQueueCatalog(live: LiveQueues, declaredSkills: ReadonlySet<string>): Pick<FlowCatalog, 'queues' | 'skills'> {
  const skills = new Set(declaredSkills);
  for (const q of live.queues) for (const s of q.skills) skills.add(s.skill);
  for (const a of live.agents) for (const s of Object.keys(a.skills)) skills.add(s);
  return { queues: new Map(live.queues.map((q) => [q.name, { skills: q.skills.map((s) => s.skill) }])), skills };
}
