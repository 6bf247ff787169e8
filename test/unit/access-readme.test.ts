import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { routeRolesMarkdown } from '../../src/http/route-roles.ts';

describe('README Access table', () => {
  it('is the route-role table the guard enforces', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const m = /<!-- access-table:start[^>]*-->\n([\s\S]*?)\n<!-- access-table:end -->/.exec(readme);
    expect(m, 'README has the access-table markers').not.toBeNull();
    expect(m![1]).toBe(routeRolesMarkdown());
  });
});
