import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadRoutingConfig } from '../../src/routing/routing-config.ts';

/** Queues and agents can be written as JSON or YAML; the shipped JSON is the reference. */
const shipped = join(import.meta.dirname, '../../ivr-flows');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-routing-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
const json = (name: string) => readFileSync(join(shipped, name), 'utf8');
const asYaml = (name: string) => stringify(JSON.parse(json(name)));

describe('routing config files', () => {
  it('reads queues and agents from YAML as from the same JSON (same config, same source hash)', async () => {
    const fromJson = await loadRoutingConfig(shipped);
    expect(fromJson.queues.length).toBeGreaterThan(0);
    expect(fromJson.agents.length).toBeGreaterThan(0);
    const fromYaml = await loadRoutingConfig(dirWith({ 'queues.yaml': asYaml('queues.json'), 'agents.yml': asYaml('agents.json') }));
    expect(fromYaml).toEqual(fromJson);
  });

  it('refuses two files for one config, naming both', async () => {
    const dir = dirWith({ 'queues.json': json('queues.json'), 'queues.yaml': asYaml('queues.json'), 'agents.json': json('agents.json') });
    await expect(loadRoutingConfig(dir)).rejects.toThrow(/queues\.json and .*queues\.yaml both exist: keep one/);
  });

  it('names the file and the line of a YAML syntax error', async () => {
    const dir = dirWith({ 'queues.yaml': 'queues:\n  general:\n    skills: [general\n', 'agents.json': json('agents.json') });
    await expect(loadRoutingConfig(dir)).rejects.toThrow(/queues\.yaml: [^]*at line 4, column 1/);
  });

  it('names the file and the path of a bad value', async () => {
    const dir = dirWith({ 'queues.yaml': 'queues:\n  general:\n    skills: [general]\n    wrapUpSeconds: -5\n', 'agents.json': json('agents.json') });
    await expect(loadRoutingConfig(dir)).rejects.toThrow(/queues\.yaml: queues\.general\.wrapUpSeconds: /);
    const agents = dirWith({ 'queues.json': json('queues.json'), 'agents.yaml': 'agents:\n  - id: a1\n    endpoint: PJSIP/a1\n    skills: { general: 9 }\n' });
    await expect(loadRoutingConfig(agents)).rejects.toThrow(/agents\.yaml: agents\.0\.skills\.general: /);
  });

  it('says which file is missing', async () => {
    await expect(loadRoutingConfig(dirWith({ 'agents.json': json('agents.json') }))).rejects.toThrow(/no queues\.json, queues\.yaml or queues\.yml in /);
  });
});
