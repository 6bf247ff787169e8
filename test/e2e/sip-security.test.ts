import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { sippCall, uniqueCaller } from './helpers/sipp.ts';

/**
 * SIP hygiene of asterisk-config/: only the trunk's source address reaches the hotline without
 * credentials. Asterisk alone decides here (no app needed): a refused INVITE never reaches the
 * dialplan (Asterisk's own log shows no dialplan step for it).
 */
describe('SIP hygiene', () => {
  const ast = inject('asterisk');

  it('refuses an INVITE from an unknown source without credentials; nothing reaches the dialplan', async () => {
    const before = readFileSync(ast.logFile, 'utf8').length;
    const caller = uniqueCaller();
    for (const dialed of ['10010', '95000', '1001']) {
      const sipp = await sippCall({ dialed, caller, source: '127.0.0.3', scenario: 'uac-refused', end: 'hangup', recvTimeoutMs: 10_000 });
      expect(sipp.code, sipp.output).toBe(0);
    }
    const added = readFileSync(ast.logFile, 'utf8').slice(before);
    // Asterisk did log the attempts (the check below is not vacuous), but no dialplan ran.
    expect(added).toMatch(/No matching endpoint found|Failed to authenticate|rejected because/i);
    expect(added).not.toMatch(/hotline-inbound|hotline-agents|Stasis\(/);
  });
});
