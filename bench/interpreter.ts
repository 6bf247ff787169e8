/**
 * Interpreter throughput: how many (state, input) -> (state, commands) steps per second the
 * pure flow interpreter does on the shipped flows, one core, no I/O.
 *   node bench/interpreter.ts [seconds=5]
 */
import { resolve } from 'node:path';
import { FlowRepository } from '../src/flows/flow-repository.ts';
import { initialState, step } from '../src/flows/interpreter.ts';
import { loadFlowDir } from '../src/flows/loader.ts';
import type { FlowCommand, FlowInput, FlowState } from '../src/flows/state.ts';

const seconds = Number(process.argv[2] ?? 5);
const bundle = await loadFlowDir(resolve(import.meta.dirname, '../ivr-flows'), ['crm']);
const repo = new FlowRepository(bundle);
const main = repo.active('main')!;
const now = new Date('2026-11-23T02:00:00Z'); // 10:00 in Shanghai: open

/** A realistic call through `main`: language, balance, services, plan, then hang up. */
function oneCall(n: number): number {
  let state: FlowState = initialState(`c${n}`, main, { caller: '13800138000', dialed: '10010' });
  let steps = 0;
  let pending: FlowCommand[] = [];
  const feed = (input: FlowInput) => {
    const r = step(repo, state, input, now);
    state = r.state;
    pending = [...r.commands];
    steps += 1;
  };
  const finishPlayback = () => {
    const pb = pending.find((c) => c.type === 'PlayPrompt');
    if (pb && pb.type === 'PlayPrompt') feed({ type: 'playback.finished', playbackId: pb.playbackId });
  };
  const answerHttp = () => {
    const rq = pending.find((c) => c.type === 'HttpRequest');
    if (rq && rq.type === 'HttpRequest') feed({ type: 'http.result', requestId: rq.requestId, ok: true, status: 200, body: { tier: 'normal', balance: 88 } });
  };
  feed({ type: 'started' });
  feed({ type: 'dtmf', digit: '1' }); // barge-in on the welcome
  answerHttp();
  for (const key of ['1', '1']) {
    feed({ type: 'dtmf', digit: key });
    answerHttp();
  }
  finishPlayback();
  feed({ type: 'dtmf', digit: '2' });
  feed({ type: 'dtmf', digit: '1' });
  finishPlayback();
  feed({ type: 'hungup', cause: 'caller_hangup' });
  return steps;
}

const until = performance.now() + seconds * 1000;
let steps = 0;
let calls = 0;
const start = performance.now();
while (performance.now() < until) {
  for (let i = 0; i < 100; i++) steps += oneCall(calls++);
}
const elapsed = (performance.now() - start) / 1000;
console.log(`interpreter: ${steps} steps in ${elapsed.toFixed(2)} s = ${Math.round(steps / elapsed).toLocaleString('en-US')} steps/s (${Math.round(calls / elapsed).toLocaleString('en-US')} simulated calls/s, ${(steps / calls).toFixed(1)} steps per call), node ${process.version}`);
