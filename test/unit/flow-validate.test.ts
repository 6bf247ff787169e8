import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FlowCatalog } from '../../src/flows/catalog.ts';
import { QUEUE_PROMPTS } from '../../src/flows/queue-prompts.ts';
import { ALL_NUMBER_PROMPTS } from '../../src/flows/say-number.ts';
import { NodeSchema } from '../../src/flows/schema.ts';
import { validateFlow, type FlowError } from '../../src/flows/validate.ts';

/**
 * The flow validator against fixtures: every file in good/ validates, every file in bad/
 * fails with exactly the errors (paths, messages, order) listed for it in bad/expected.json.
 */
const FIXTURES = join(import.meta.dirname, '../fixtures/flows');
const GOOD = join(FIXTURES, 'good');
const BAD = join(FIXTURES, 'bad');

const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));
const jsonFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'expected.json')
    .sort();

const goodFiles = jsonFiles(GOOD);
const badFiles = jsonFiles(BAD);
const expected = readJson(join(BAD, 'expected.json')) as Record<string, FlowError[]>;

/**
 * Fixtures on which the validator is known to be wrong: expected.json holds what it should
 * report, and these tests are marked `it.fails` (vitest flags one that starts passing).
 * Empty since the fixes found with these fixtures landed.
 */
const VALIDATOR_BUGS: Readonly<Record<string, string>> = {};

const flowIds = [...goodFiles.map((f) => (readJson(join(GOOD, f)) as { id: string }).id), 'other'];

const PROMPTS = [
  'welcome',
  'choose_language',
  'main_menu',
  'invalid_key',
  'no_input',
  'balance_is',
  'yuan',
  'enter_number',
  'enter_pin',
  'lookup_failed',
  'link_sent',
  'closed',
  'leave_message',
  'goodbye',
  'survey_intro',
  'survey_rating',
  'callback_offer',
  'survey_thanks',
  'transfer_notice',
];

const catalog: FlowCatalog = {
  prompts: new Map<string, { zh?: string; en?: string }>([
    // The prompts a queue node plays on its own, and the number words, must be in the catalog too.
    ...[...PROMPTS, ...Object.values(QUEUE_PROMPTS), ...ALL_NUMBER_PROMPTS].map((name): [string, { zh: string; en: string }] => [name, { zh: `（${name}）`, en: `(${name})` }]),
    ['half_prompt', { zh: '只有中文版本。' }],
  ]),
  queues: new Map([
    ['general', { skills: ['general', 'english'] }],
    ['vip', { skills: ['vip'] }],
  ]),
  skills: new Set(['general', 'vip', 'english']),
  services: new Set(['crm']),
  flowIds: new Set(flowIds),
};

describe('flow validator: good fixtures', () => {
  it.each(goodFiles)('%s is valid', (file) => {
    const v = validateFlow(readJson(join(GOOD, file)), catalog);
    expect(v.ok ? [] : v.errors).toEqual([]);
  });

  it('between them use every node type', () => {
    const all = NodeSchema.options.map((o) => o.shape.type.value).sort();
    const used = new Set(goodFiles.flatMap((f) => Object.values((readJson(join(GOOD, f)) as { nodes: Record<string, { type: string }> }).nodes).map((n) => n.type)));
    expect(all).toHaveLength(17);
    expect([...used].sort()).toEqual(all);
  });
});

describe('flow validator: bad fixtures', () => {
  it('has at least 45 bad fixtures, each with its expected errors and no stale entries', () => {
    expect(badFiles.length).toBeGreaterThanOrEqual(45);
    expect(badFiles.filter((f) => !(f in expected))).toEqual([]);
    expect(Object.keys(expected).filter((f) => !badFiles.includes(f))).toEqual([]);
    expect(Object.keys(VALIDATOR_BUGS).filter((f) => !badFiles.includes(f))).toEqual([]);
    for (const f of badFiles) expect(expected[f]?.length, f).toBeGreaterThan(0);
  });

  for (const file of badFiles) {
    const bug = VALIDATOR_BUGS[file];
    const test = bug ? it.fails : it;
    test(bug ? `${file} (validator bug: ${bug})` : `${file} reports exactly the expected errors`, () => {
      const v = validateFlow(readJson(join(BAD, file)), catalog);
      expect(v.ok).toBe(false);
      expect(v.ok ? [] : v.errors).toStrictEqual(expected[file]);
    });
  }
});
