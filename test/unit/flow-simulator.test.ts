import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowSchemaText } from '../../src/cli/flows-command.ts';
import { loadFlowDir, type FlowBundle } from '../../src/flows/loader.ts';
import { FlowSimulator, formatTranscript, parseScript, ScriptError, type SimulatorOptions, type Transcript } from '../../src/flows/simulator.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const FLOWS = join(REPO, 'ivr-flows');
const CLI = join(REPO, 'src/cli/hotline.ts');

const WEDNESDAY_10 = new Date('2026-03-04T10:00:00+08:00');
const WEDNESDAY_2330 = new Date('2026-03-04T23:30:00+08:00');
const NATIONAL_DAY = new Date('2026-10-01T11:00:00+08:00');

let bundle: FlowBundle;
beforeAll(async () => {
  bundle = await loadFlowDir(FLOWS, ['crm']);
  expect(bundle.problems).toEqual([]);
});

function simulate(script: string, opts: Partial<SimulatorOptions> = {}): Transcript {
  const sim = new FlowSimulator({
    flows: bundle.flows,
    flowId: 'main',
    prompts: bundle.catalog.prompts,
    vars: { caller: '13800138000', dialed: '10010' },
    at: WEDNESDAY_10,
    ...opts,
  });
  return sim.run(parseScript(script));
}

const names = (t: Transcript) => t.events.map((e) => e.event);
const dataOf = (t: Transcript, event: string) => t.events.filter((e) => e.event === event).map((e) => e.data);
const text = (name: string, lang: 'zh' | 'en') => bundle.catalog.prompts.get(name)![lang]!;

describe('simulator on the shipped main flow', () => {
  it('English, then services, then plan info', () => {
    const t = simulate('2,2,1');
    expect(t.path).toEqual(['welcome', 'lookup_customer', 'check_vip', 'choose_language', 'lang_en', 'main_menu', 'services_menu', 'plan_info', 'services_menu']);
    expect(t.outcome).toBe('waiting');
    expect(t.node).toBe('services_menu');
    expect(t.phase).toBe('listening');
    expect(t.language).toBe('en');
    expect(t.prompts).toContain(text('plan_info', 'en'));
    expect(t.prompts[0]).toBe(text('welcome', 'zh'));
    expect(dataOf(t, 'menu.selected').map((d) => [d.node, d.digit])).toEqual([
      ['choose_language', '2'],
      ['main_menu', '2'],
      ['services_menu', '1'],
    ]);
    // Keys pressed during a menu prompt are barge-ins.
    expect(dataOf(t, 'dtmf').every((d) => d.bargeIn === true)).toBe(true);
    expect(t.vars).toMatchObject({ tier: 'normal', balance: 88, language: 'en' });
  });

  it('w lets the prompt finish, so the key is not a barge-in', () => {
    const t = simulate('1,w,2');
    expect(dataOf(t, 'dtmf').map((d) => d.bargeIn)).toEqual([true, false]);
    expect(t.node).toBe('services_menu');
  });

  it('0 during business hours asks for an agent and ends with queue_unavailable', () => {
    const t = simulate('1,0', { at: WEDNESDAY_10 });
    expect(t.path.slice(-3)).toEqual(['hours_check', 'agent_route', 'agent_queue']);
    expect(dataOf(t, 'schedule.evaluated')).toEqual([{ node: 'hours_check', outcome: 'open' }]);
    expect(dataOf(t, 'queue.requested')).toEqual([{ node: 'agent_queue', queue: 'general', skills: ['general'], priority: 0 }]);
    expect(t.outcome).toBe('ended');
    expect(t.endCause).toBe('queue_unavailable');
    expect(t.prompts.at(-1)).toBe(text('agents_unavailable', 'zh'));
  });

  it('0 in English routes to the English-speaking agents', () => {
    const t = simulate('2,0');
    expect(dataOf(t, 'queue.requested')).toEqual([{ node: 'agent_queue_en', queue: 'general', skills: ['general', 'english'], priority: 0 }]);
  });

  it('0 at 23:30 Shanghai time hears the closed notice and leaves a message', () => {
    const t = simulate('1,0', { at: WEDNESDAY_2330 });
    expect(t.path.slice(-4)).toEqual(['hours_check', 'closed_notice', 'leave_message', 'goodbye']);
    expect(dataOf(t, 'schedule.evaluated')).toEqual([{ node: 'hours_check', outcome: 'closed' }]);
    expect(dataOf(t, 'voicemail.recorded')).toEqual([{ node: 'leave_message', recording: expect.stringMatching(/^voicemail-sim-\d+$/), ok: true, seconds: 10 }]);
    expect(t.endCause).toBe('completed');
  });

  it('0 on a public holiday hears the holiday notice', () => {
    const t = simulate('1,0', { at: NATIONAL_DAY });
    expect(t.path.slice(-3)).toEqual(['hours_check', 'holiday_notice', 'goodbye']);
    expect(t.endCause).toBe('completed');
  });

  it('a VIP caller (CRM tier vip) goes straight to the VIP queue', () => {
    const t = simulate(`ok:{"tier":"vip","balance":1000}`);
    expect(t.path).toEqual(['welcome', 'lookup_customer', 'check_vip', 'vip_greeting', 'vip_queue']);
    expect(dataOf(t, 'queue.requested')).toEqual([{ node: 'vip_queue', queue: 'vip', skills: ['vip'], priority: 5 }]);
    expect(t.endCause).toBe('queue_unavailable');
    expect(t.vars).toMatchObject({ tier: 'vip', balance: 1000 });
  });

  it('a CRM error does not block the call; a failed balance lookup apologises and returns to the menu', () => {
    const t = simulate('err,1,1,err');
    expect(t.path).toEqual(['welcome', 'lookup_customer', 'choose_language', 'main_menu', 'balance', 'lookup_failed', 'main_menu']);
    expect(dataOf(t, 'http.completed').map((d) => d.ok)).toEqual([false, false]);
    expect(t.vars).not.toHaveProperty('tier');
    expect(t.prompts).toContain(text('lookup_failed', 'zh'));
  });

  it('the balance is read out from the (default) CRM answer', () => {
    const t = simulate('1,1');
    expect(t.path.slice(-3)).toEqual(['balance', 'say_balance', 'main_menu']);
    expect(t.prompts).toContain(`${text('balance_is', 'zh')} 八十八 ${text('yuan', 'zh')}`);
    const t2 = simulate('1,1,ok:{balance: 12}');
    expect(t2.prompts).toContain(`${text('balance_is', 'zh')} 十二 ${text('yuan', 'zh')}`);
  });

  it('another number: eleven digits are gathered and looked up', () => {
    const t = simulate('1,2,3,13912345678');
    expect(t.path.slice(-5)).toEqual(['services_menu', 'other_number', 'other_balance', 'say_balance', 'main_menu']);
    expect(dataOf(t, 'gather.completed')).toEqual([{ node: 'other_number', into: 'otherNumber', length: 11 }]);
    expect(t.vars.otherNumber).toBe('13912345678');
    const req = t.entries.find((e) => e.kind === 'command' && e.command.type === 'HttpRequest' && e.node === 'other_balance');
    expect(req).toMatchObject({ command: { path: '/customers/13912345678' } });
  });

  it('an invalid key, then a retry', () => {
    const t = simulate('1,9,1');
    expect(dataOf(t, 'menu.invalid')).toEqual([{ node: 'main_menu', retries: 1, digit: '9' }]);
    expect(t.prompts).toContain(`${text('invalid_key', 'zh')} ${text('main_menu', 'zh')}`);
    expect(t.path.slice(-4)).toEqual(['main_menu', 'balance', 'say_balance', 'main_menu']);
  });

  it('silence until the retries are exhausted says goodbye', () => {
    const t = simulate('t,t,t,t');
    expect(names(t).filter((n) => n.startsWith('menu.') || n === 'node.exhausted')).toEqual([
      'menu.timeout', // choose_language (no retries): straight on to the main menu
      'node.exhausted',
      'menu.timeout',
      'menu.timeout',
      'menu.timeout',
      'node.exhausted',
    ]);
    expect(t.path.slice(-2)).toEqual(['main_menu', 'goodbye']);
    expect(t.endCause).toBe('completed');
    expect(Date.parse(t.endedAt) - Date.parse(t.startedAt)).toBe(3000 + 3 * 5000);
  });

  it('a hang-up mid-menu records call.ended once with the cause; left-over actions are reported', () => {
    const t = simulate('1,h,2');
    expect(names(t).filter((n) => n === 'call.ended')).toHaveLength(1);
    expect(t.endCause).toBe('caller_hangup');
    expect(t.node).toBe('main_menu');
    expect(t.unused).toEqual(['2']);
  });

  it('an HTTP answer while a menu waits for a key is a script error', () => {
    const t = simulate('1,ok');
    expect(t.outcome).toBe('script_error');
    expect(t.error).toMatch(/no HTTP request is pending; main_menu waits for a key/);
  });

  it('stops at the step bound', () => {
    const t = simulate('1,9,9,9,9,9,9', { maxSteps: 6 });
    expect(t.outcome).toBe('max_steps');
    expect(t.steps).toBe(6);
  });

  it('runs the survey and the announcement flows', () => {
    const s = simulate('4,1', { flowId: 'survey' });
    expect(dataOf(s, 'survey.answered').map((d) => [d.question, d.score])).toEqual([
      ['satisfaction', 4],
      ['resolved', 1],
    ]);
    expect(s.vars).toMatchObject({ survey_satisfaction: 4, survey_resolved: 1 });
    const e = simulate('', { flowId: 'emergency' });
    expect(e.prompts).toEqual([text('emergency_notice', 'zh'), text('emergency_notice', 'en'), text('goodbye', 'en')]);
    expect(e.endCause).toBe('completed');
  });

  it('formats a readable transcript', () => {
    const out = formatTranscript(simulate('2,h'));
    expect(out).toContain('> lang_en (language)');
    expect(out).toContain(`say   ${text('main_menu', 'en')}`);
    expect(out).toMatch(/outcome: caller_hangup at main_menu/);
    expect(out).toMatch(/path: +welcome > lookup_customer > check_vip > choose_language > lang_en > main_menu/);
  });
});

describe('script parsing', () => {
  it('splits on commas outside JSON, expands key runs, accepts loose JSON', () => {
    expect(parseScript(`12#, t ,ok:{"a":1,"b":[1,2]},ok:200:{tier:'vip', n: 2},err,err:504,h,w,!5`)).toEqual([
      { kind: 'digit', digit: '1' },
      { kind: 'digit', digit: '2' },
      { kind: 'digit', digit: '#' },
      { kind: 'timeout' },
      { kind: 'http', ok: true, body: { a: 1, b: [1, 2] } },
      { kind: 'http', ok: true, status: 200, body: { tier: 'vip', n: 2 } },
      { kind: 'http', ok: false },
      { kind: 'http', ok: false, status: 504 },
      { kind: 'hangup' },
      { kind: 'wait' },
      { kind: 'digit', digit: '5', now: true },
    ]);
  });

  it('rejects unknown actions and bad JSON', () => {
    expect(() => parseScript('1,x')).toThrow(ScriptError);
    expect(() => parseScript('ok:{nope')).toThrow(/not JSON/);
  });
});

// Each test spawns the CLI (a Node start-up, ~0.3 s idle): generous limits so a loaded machine does not fail them.
describe('hotline flows CLI', { timeout: 30_000 }, () => {
  // No ARI_PASSWORD or other configuration: the flows tools must not need it.
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.ARI_PASSWORD;
  delete env.FLOWS_DIR;
  const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
    spawnSync(process.execPath, [CLI, 'flows', ...args], { cwd: REPO, env: { ...env, ...extraEnv }, encoding: 'utf8', input: '', timeout: 20_000 });

  let bad: string;
  beforeAll(() => {
    bad = mkdtempSync(join(tmpdir(), 'hotline-flows-'));
    for (const f of ['prompts.json', 'queues.json']) copyFileSync(join(FLOWS, f), join(bad, f));
    writeFileSync(join(bad, 'numbers.json'), JSON.stringify({ numbers: { '10010': 'broken', '10011': 'ghost' } }));
    writeFileSync(
      join(bad, 'broken.json'),
      JSON.stringify({
        id: 'broken',
        version: 1,
        name: 'Broken',
        language: 'zh',
        start: 'hello',
        nodes: {
          hello: { type: 'play', prompts: ['prompt:welcome', 'prompt:nope'], next: 'nowhere' },
          menu: { type: 'menu', prompts: ['prompt:main_menu'], options: { '1': 'hello' }, onExhausted: 'hello' },
        },
      }),
    );
    writeFileSync(join(bad, 'shape.json'), JSON.stringify({ id: 'Shape', version: 0, nodes: {} }));
  });
  afterAll(() => rmSync(bad, { recursive: true, force: true }));

  it('simulate --script --json runs without any configuration', () => {
    const r = cli(['simulate', 'main', '--at', '2026-03-04T10:00:00+08:00', '--script', '2,2,1', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const t = JSON.parse(r.stdout) as Transcript;
    expect(t.path).toContain('plan_info');
    expect(t.vars).toMatchObject({ caller: '13800138000', dialed: '10010', language: 'en' });
  });

  it('simulate prints a text transcript; --http-default sets the CRM answer', () => {
    const r = cli(['simulate', 'main', '--script', 'w', '--http-default', `{"tier":"vip"}`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('> vip_queue (queue)');
    expect(r.stdout).toContain('outcome: queue_unavailable at vip_queue');
  });

  it('simulate rejects a bad script with exit 2', () => {
    const r = cli(['simulate', 'main', '--script', '1,zzz']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown action "zzz"/);
  });

  it('validate passes on the shipped flows', () => {
    const r = cli(['validate']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ok \d+ flows\n$/);
    const one = cli(['validate', 'ivr-flows/main.json', 'survey']);
    expect(one.stdout).toBe('ok 2 flows\n');
  });

  it('validate fails on a bad folder and prints every error as file: path: message', () => {
    const r = cli(['validate'], { FLOWS_DIR: bad });
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/broken\.json: nodes\.hello\.next: next node "nowhere" does not exist$/),
        expect.stringMatching(/broken\.json: nodes\.hello\.prompts\.1: prompt "nope" is not in the prompt catalog$/),
        expect.stringMatching(/broken\.json: nodes\.menu: node "menu" is unreachable from start "hello"$/),
        expect.stringMatching(/shape\.json: id: flow ids are lower-case letters, digits, - and _$/),
        expect.stringMatching(/numbers\.json: numbers\.10011: unknown flow "ghost"$/),
      ]),
    );
    for (const line of lines) expect(line).toMatch(/^\S+\.json: \S+: .+/);
    expect(r.stdout).not.toContain('ok ');
    const missing = cli(['validate', join(bad, 'nothere.json')]);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toMatch(/nothere\.json: \(file\): no such flow file/);
  });

  it('graph prints Mermaid', () => {
    const r = cli(['graph', 'main']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^flowchart TD\n {2}start\(\(main\)\) --> welcome\n/);
    expect(r.stdout).toContain('main_menu -->|"key 0"| hours_check');
    expect(cli(['graph', 'nope']).status).toBe(1);
  });

  it('schema --no-write prints the committed JSON Schema', () => {
    const r = cli(['schema', '--no-write']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(FLOWS, 'flow.schema.json'), 'utf8'));
  });

  it('unknown subcommands print the usage with exit 2', () => {
    const r = cli(['frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: hotline flows/);
  });
});

describe('ivr-flows/flow.schema.json', () => {
  it('is the generated schema (run `hotline flows schema` after changing src/flows/schema.ts)', () => {
    expect(readFileSync(join(FLOWS, 'flow.schema.json'), 'utf8')).toBe(flowSchemaText());
  });

  it('is what the shipped flows point at', () => {
    const main = JSON.parse(readFileSync(join(FLOWS, 'main.json'), 'utf8')) as { $schema: string };
    expect(main.$schema).toBe('./flow.schema.json');
  });
});
