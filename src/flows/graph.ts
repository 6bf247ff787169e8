import type { FlowNode } from './schema.ts';

export interface Edge {
  /** The field of the node that names the target, e.g. `next`, `options.1`, `conditions.0.next`. */
  readonly field: string;
  readonly to: string;
  /** What the edge means, for pictures: the key, the condition outcome. */
  readonly label: string;
}

/** Every next-node a node can lead to, with the field that names it. */
export function outgoing(node: FlowNode): Edge[] {
  const e = (field: string, to: string, label = field): Edge => ({ field, to, label });
  switch (node.type) {
    case 'queue':
      return [
        e('next', node.next, 'after the agent'),
        ...(node.onTimeout ? [e('onTimeout', node.onTimeout, 'max wait')] : []),
        ...(node.onExit ? [e('onExit', node.onExit, `key ${node.exitKey ?? '?'}`)] : []),
      ];
    case 'play':
    case 'set':
    case 'language':
    case 'voicemail':
    case 'sms':
    case 'subflow':
      return [e('next', node.next)];
    case 'menu':
      return [...Object.entries(node.options).map(([d, to]) => e(`options.${d}`, to, `key ${d}`)), e('onExhausted', node.onExhausted, 'no valid key')];
    case 'gather':
      return [e('next', node.next), e('onExhausted', node.onExhausted, 'no valid input')];
    case 'branch':
      return [...node.conditions.map((c, i) => e(`conditions.${i}.next`, c.next, `if ${JSON.stringify(c.when)}`)), e('default', node.default)];
    case 'schedule':
      return [e('open', node.open), e('closed', node.closed), e('holiday', node.holiday)];
    case 'http':
      return [e('next', node.next, 'ok'), e('onError', node.onError, 'error')];
    case 'survey':
      return [e('next', node.next, 'answered'), e('onNoAnswer', node.onNoAnswer, 'no answer')];
    case 'transfer':
    case 'return':
    case 'goto':
    case 'hangup':
      return [];
  }
}

/** Nodes that stop and wait for the caller (a key, speech, the queue), so a loop through them cannot spin. */
export function waitsForCaller(node: FlowNode): boolean {
  return node.type === 'menu' || node.type === 'gather' || node.type === 'survey' || node.type === 'voicemail' || node.type === 'queue';
}

/** Mermaid flowchart text of a flow: paste into any Mermaid renderer. */
export function toMermaid(flow: { id: string; start: string; nodes: Record<string, FlowNode> }): string {
  const lines = ['flowchart TD', `  start((${flow.id})) --> ${flow.start}`];
  for (const [name, node] of Object.entries(flow.nodes)) {
    const shape = node.type === 'menu' || node.type === 'branch' || node.type === 'schedule' ? [`{`, `}`] : node.type === 'hangup' ? ['([', '])'] : ['[', ']'];
    lines.push(`  ${name}${shape[0]}"${name}<br/><small>${node.type}</small>"${shape[1]}`);
    for (const edge of outgoing(node)) lines.push(`  ${name} -->|"${edge.label.replace(/"/g, "'")}"| ${edge.to}`);
    if (node.type === 'goto' || node.type === 'subflow') lines.push(`  ${name} -.->|"${node.type}"| flow_${node.flow}[["${node.flow}"]]`);
  }
  return lines.join('\n') + '\n';
}
