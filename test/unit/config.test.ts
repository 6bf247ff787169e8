import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

describe('config', () => {
  it('applies defaults and parses lists', () => {
    const c = loadConfig({ ARI_PASSWORD: 'x', HTTP_SERVICES: 'billing=http://10.1.2.3:8080/api/' });
    expect(c.httpServices).toEqual({ crm: 'http://127.0.0.1:3001', billing: 'http://10.1.2.3:8080/api' });
    expect(loadConfig({ ARI_PASSWORD: 'x', NODE_ENV: 'production' }).demoCrm).toBeNull();
    expect(c.http.port).toBe(3000);
    expect(c.ari.url).toBe('http://127.0.0.1:8088');
    expect(c.migrateOnStart).toBe(true);
  });

  it('names every bad variable', () => {
    try {
      loadConfig({ ARI_PASSWORD: 'x', HTTP_PORT: '70000', DATABASE_URL: 'mysql://x', ARI_URL: 'not a url', HTTP_SERVICES: 'crm=ftp://x', CLOCK_FIXED_AT: 'tomorrow' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const issues = (err as ConfigError).issues.join('\n');
      expect(issues).toMatch(/^HTTP_PORT:/m);
      expect(issues).toMatch(/^DATABASE_URL: must be a postgres:\/\/ URL/m);
      expect(issues).toMatch(/^ARI_URL:/m);
      expect(issues).toMatch(/^HTTP_SERVICES: "crm=ftp:\/\/x" is not name=http\(s\):\/\/url/m);
      expect(issues).toMatch(/^CLOCK_FIXED_AT:/m);
    }
  });

  it('requires the ARI password (a secret has no default)', () => {
    expect(() => loadConfig({})).toThrow(/ARI_PASSWORD/);
  });
});
