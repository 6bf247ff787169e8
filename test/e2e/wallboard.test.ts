import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup/provided.ts';
import { ADMIN_HEADERS, startFloor, type Floor } from './helpers/floor.ts';
import { E2E_ADMIN_TOKEN, waitFor } from './helpers/hotline-process.ts';
import { sippCall, uniqueCaller } from './helpers/sipp.ts';

/**
 * The wallboard in real headless Chromium (Debian `chromium`, driven by playwright-core): log in
 * with a token, see a SIPp caller wait in the general queue while the only agent is paused, see
 * the call leave the queue when the agent (auto-answering baresip) is unpaused and answers.
 * Screenshots go to test-artifacts/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

describe('wallboard in headless Chromium', () => {
  let floor: Floor;
  let browser: Browser;
  let page: Page;
  const act = (id: string, action: string) => floor.act(id, action);
  const stateOf = async (id: string) => (await floor.agent(id)).state;
  const waitingCell = () => page.locator('tr[data-queue="general"] td[data-testid="waiting"]');
  /** Skip the welcome, Chinese (1), then 0 for an agent (as in queue-features.test.ts). */
  const toQueue = [
    { waitMs: 600, digit: '1' },
    { waitMs: 900, digit: '1' },
    { waitMs: 900, digit: '0' },
  ];

  beforeAll(async () => {
    // Loud, not skipped: the lab must have it (scripts/lab/provision.sh installs it).
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: run scripts/lab/provision.sh (Debian package "chromium") or set CHROMIUM_PATH`);
    mkdirSync(ARTIFACTS, { recursive: true });
    floor = await startFloor({ CLOCK_FIXED_AT: '2026-11-23T10:00:00+08:00', JWT_SECRET: 'wallboard-e2e-jwt-secret-0123456789abcdef' }, [{ id: 'agent1001', port: 25417 }]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  afterAll(async () => {
    await browser?.close();
    await floor?.stop();
  });

  it('a bad token is refused on the page', async () => {
    await page.goto(`${floor.app.url}/wallboard`);
    await page.fill('#token', 'not-a-valid-token-at-all');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#login-error')).toBe('the token was refused');
    expect(await page.isVisible('#board')).toBe(false);
  });

  it('a supervisor logs in with a username and password (POST /auth/login) and sees the board', async () => {
    const username = `sup${Date.now().toString(36)}`;
    const created = await fetch(`${floor.app.url}/users`, { method: 'POST', headers: ADMIN_HEADERS, body: JSON.stringify({ username, role: 'supervisor', password: 'wallboard-password-1' }) });
    expect(created.status, await created.clone().text()).toBe(201);
    const context = await browser.newContext();
    const other = await context.newPage();
    await other.goto(`${floor.app.url}/wallboard`);
    await other.fill('#username', username);
    await other.fill('#password', 'wrong-password-123');
    await other.click('button[type=submit]');
    await expect.poll(() => other.textContent('#login-error')).toBe('wrong username or password');
    await other.fill('#password', 'wallboard-password-1');
    await other.click('button[type=submit]');
    await other.waitForSelector('#status.ok', { timeout: 10_000 });
    await other.locator('tr[data-queue="general"]').waitFor({ timeout: 10_000 });
    await context.close();
  });

  it('logs in, shows a SIPp caller waiting in the queue, and shows it leave when the agent answers', async () => {
    // Routing state in Redis is shared by the run's e2e files: start from agent1001 logged out.
    await waitFor(async () => !['ringing', 'on_call'].includes(await stateOf('agent1001')), 30_000, () => 'agent1001 still busy');
    if ((await stateOf('agent1001')) !== 'logged_out') await act('agent1001', 'logout');

    await page.goto(`${floor.app.url}/wallboard`);
    await page.fill('#token', E2E_ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('#status.ok', { timeout: 10_000 });
    await waitingCell().waitFor({ timeout: 10_000 });
    expect(await waitingCell().textContent()).toBe('0');
    const answeredBefore = Number(await page.textContent('#answered'));

    await act('agent1001', 'login');
    await act('agent1001', 'pause');
    await expect.poll(() => page.textContent('tr[data-state="paused"] td.n'), { timeout: 10_000 }).not.toBe('0');
    const caller = uniqueCaller();
    const call = sippCall({ dialed: '10010', caller, steps: [...toQueue, { waitMs: 20_000 }], end: 'hangup', recvTimeoutMs: 60_000 });

    await expect.poll(() => waitingCell().textContent(), { timeout: 20_000 }).toBe('1');
    expect(await page.textContent('tr[data-queue="general"] td:nth-child(3)')).toMatch(/^\d+:\d\d$/);
    await page.screenshot({ path: resolve(ARTIFACTS, 'wallboard-waiting.png'), fullPage: true });

    await act('agent1001', 'unpause');
    await expect.poll(() => waitingCell().textContent(), { timeout: 20_000 }).toBe('0');
    await expect.poll(async () => Number(await page.textContent('#answered')), { timeout: 20_000 }).toBe(answeredBefore + 1);
    await page.screenshot({ path: resolve(ARTIFACTS, 'wallboard-answered.png'), fullPage: true });

    const result = await call;
    expect(result.code, result.output).toBe(0);
    await waitFor(async () => (await stateOf('agent1001')) !== 'on_call', 20_000, () => 'agent1001 still on the call');
    await act('agent1001', 'logout');
  });

  it('shows the emergency banner while a number is switched, and drops it when switched back', async () => {
    const emergency = (method: string, body?: unknown) => fetch(`${floor.app.url}/emergency`, { method, headers: ADMIN_HEADERS, body: JSON.stringify(body ?? {}) });
    expect(await page.isVisible('[data-testid="emergency"]')).toBe(false);
    const on = await emergency('POST', { numbers: ['96000'], flow: 'emergency', reason: 'wallboard e2e drill' });
    expect(on.status, await on.clone().text()).toBe(200);
    try {
      await expect.poll(() => page.isVisible('[data-testid="emergency"]'), { timeout: 10_000 }).toBe(true);
      expect(await page.textContent('[data-testid="emergency"]')).toMatch(/EMERGENCY MODE: 96000 play "emergency" since .* wallboard e2e drill/);
      await page.screenshot({ path: resolve(ARTIFACTS, 'wallboard-emergency.png'), fullPage: true });
    } finally {
      const off = await emergency('DELETE');
      expect(off.status).toBe(200);
      expect(await off.json()).toEqual({ restored: [{ number: '96000', flow: 'survey' }] });
    }
    await expect.poll(() => page.isVisible('[data-testid="emergency"]'), { timeout: 10_000 }).toBe(false);
  });
});
