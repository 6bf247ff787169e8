import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, maskNumber } from '../../src/log/logger.ts';

describe('logging', () => {
  it('masks caller numbers down to the last 4 digits', () => {
    expect(maskNumber('13800138000')).toBe('*******8000');
    expect(maskNumber('+86 138-0013-8000')).toBe('*********8000');
    expect(maskNumber('123')).toBe('***');
    expect(maskNumber(undefined)).toBe('');
  });

  it('never writes secrets or connection strings', () => {
    let out = '';
    const sink = new Writable({ write: (chunk, _e, cb) => ((out += chunk), cb()) });
    const log = createLogger('info', sink);
    log.info({ config: { ari: { password: 'p4ss' }, databaseUrl: 'postgres://u:dbpw@h/db', redis: { url: 'redis://:rpw@h' } } }, 'boot');
    log.info({ password: 'p4ss' }, 'x');
    expect(out).not.toMatch(/p4ss|dbpw|rpw/);
    expect(out).toMatch(/\[redacted\]/);
  });
});
