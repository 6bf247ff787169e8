import type { VarValue } from './state.ts';

/**
 * Fills `{{name}}` from call variables. Values are reduced to `[A-Za-z0-9_.+-]` so a caller's
 * input can never change what a media URI or an HTTP path means. Unknown variables become ''.
 */
export function fill(template: string, vars: Readonly<Record<string, VarValue>>): string {
  return template.replace(/\{\{([a-z][a-zA-Z0-9_]*)\}\}/g, (_, name: string) => safe(vars[name]));
}

function safe(v: VarValue | undefined): string {
  if (v === undefined) return '';
  return String(v).replace(/[^A-Za-z0-9_.+-]/g, '');
}
