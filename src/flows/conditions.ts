import type { Condition } from './schema.ts';
import type { VarValue } from './state.ts';

/** Evaluates a condition against call variables. Data in, boolean out: no code runs. */
export function evaluate(c: Condition, vars: Readonly<Record<string, VarValue>>): boolean {
  if ('all' in c) return c.all.every((x) => evaluate(x, vars));
  if ('any' in c) return c.any.some((x) => evaluate(x, vars));
  if ('not' in c) return !evaluate(c.not, vars);
  const v = vars[c.var];
  if ('exists' in c) return (v !== undefined && v !== '') === c.exists;
  if ('eq' in c) return v !== undefined && String(v) === String(c.eq);
  if ('ne' in c) return v === undefined || String(v) !== String(c.ne);
  if ('in' in c) return v !== undefined && c.in.map(String).includes(String(v));
  if ('matches' in c) return v !== undefined && new RegExp(c.matches).test(String(v));
  const n = typeof v === 'number' ? v : Number(v);
  if (v === undefined || v === '' || Number.isNaN(n)) return false;
  if ('gt' in c) return n > c.gt;
  if ('gte' in c) return n >= c.gte;
  if ('lt' in c) return n < c.lt;
  return n <= c.lte;
}
