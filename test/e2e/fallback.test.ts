import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { sippCall, uniqueCaller } from './helpers/sipp.ts';

describe('when Hotline is not running', () => {
  it('the caller hears the dialplan apology and the call ends cleanly', async () => {
    const log = inject('asterisk').logFile;
    const before = readFileSync(log, 'utf8').length;
    const started = Date.now();
    const sipp = await sippCall({ dialed: '10010', caller: uniqueCaller(), end: 'wait-bye', recvTimeoutMs: 20_000 });
    expect(sipp.code, sipp.output).toBe(0);

    const added = readFileSync(log, 'utf8').slice(before);
    expect(added).toMatch(/hotline-unavailable: playing apology/);
    expect(added).toMatch(/Playing 'im-sorry/);
    expect(added).toMatch(/Playing 'please-try-call-later/);
    // The apology is ~4 s of audio; a call hung up at once would not have played it.
    expect(Date.now() - started).toBeGreaterThan(3_000);
  });
});
