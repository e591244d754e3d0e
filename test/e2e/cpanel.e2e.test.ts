import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  requireBuiltUi,
  startFullApp,
  type FullApp,
  launchBrowser,
} from './support/full-app.js';

/**
 * The control panel in headless Chromium against the running app: login, every built-in page
 * with real data, the live log, the cache flush confirmation, logout, both viewport sizes.
 * Every request the browser makes must stay on this origin.
 */

const SCREENSHOTS = path.resolve('artifacts', 'screenshots');
const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;
const PAGES = [
  'Dashboard',
  'Diagnostics',
  'Config',
  'Logs',
  'Cache',
  'Database',
  'Services',
  'Plugins',
];

let target: FullApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const foreignRequests: string[] = [];

async function adminJson<T>(endpoint: string): Promise<T> {
  const response = await fetch(`${target.base}${endpoint}`, {
    headers: {
      authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`,
    },
  });
  expect(response.status, endpoint).toBe(200);
  return (await response.json()) as T;
}

async function openPage(name: string): Promise<void> {
  const menu = page.getByRole('button', { name: 'Menu' });
  if (await menu.isVisible()) await menu.click();
  await page
    .getByRole('navigation', { name: 'Pages' })
    .getByRole('link', { name, exact: true })
    .click();
  await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(name);
}

async function newPage(viewport: { width: number; height: number }): Promise<Page> {
  context = await browser.newContext({ viewport, baseURL: target.base });
  const origin = new URL(target.base).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    foreignRequests.push(url);
    return route.abort();
  });
  return context.newPage();
}

async function logIn(password: string): Promise<void> {
  // Keyboard only: the password field has focus; Enter submits.
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Password').press('Enter');
}

beforeAll(async () => {
  requireBuiltUi();
  mkdirSync(SCREENSHOTS, { recursive: true });
  target = await startFullApp();
  browser = await launchBrowser();
  page = await newPage(VIEWPORTS[0]);
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await target?.stop();
});

describe('control panel in a browser', () => {
  it('refuses a wrong password and accepts the right one', async () => {
    await page.goto('/cpanel/');
    await logIn('not the password');
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('Wrong user name or password.');
    await expect.poll(() => page.getByLabel('Password').inputValue()).toBe('');
    await logIn(ADMIN_PASSWORD);
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toBe('Dashboard');
    // The branding title set on the server shows in the tab and the header.
    expect(await page.locator('.brand-title').textContent()).toBe(await page.title());
  });

  it('shows real data on every built-in page', async () => {
    const health = await adminJson<{ checks: { name: string }[] }>('/api/health');
    await expect
      .poll(() => page.locator('.health-overall').textContent())
      .toMatch(/Overall: (healthy|degraded|unhealthy)/);
    for (const check of health.checks)
      expect(await page.locator('.check').filter({ hasText: check.name }).count()).toBeGreaterThan(
        0,
      );
    await expect
      .poll(() => page.locator('.key-value').filter({ hasText: 'Memory (RSS)' }).textContent())
      .toMatch(/\d+(\.\d)? MiB/);
    await expect
      .poll(() =>
        page.locator('.key-value').filter({ hasText: 'Event-loop delay p99' }).textContent(),
      )
      .toMatch(/ms|—/);

    await openPage('Diagnostics');
    await expect
      .poll(() => page.locator('pre.json').first().textContent())
      .toContain(`"node": "${process.version}"`);
    expect(await page.getByRole('link', { name: 'Download' }).getAttribute('href')).toContain(
      'download=1',
    );

    await openPage('Config');
    await expect
      .poll(() => page.locator('pre.json').first().textContent())
      .toContain('"control-panel"');
    const configText = (await page.locator('main').textContent()) ?? '';
    expect(configText).toContain('********');
    expect(configText).not.toContain(ADMIN_PASSWORD);

    await openPage('Logs');
    await expect.poll(() => page.locator('.log-line').count()).toBeGreaterThan(0);

    await openPage('Cache');
    await expect
      .poll(() => page.locator('.key-value').filter({ hasText: 'provider' }).first().textContent())
      .toContain('memory');

    const database = await adminJson<{ provider: string; migrations: { name: string }[] }>(
      '/api/database',
    );
    await openPage('Database');
    await expect
      .poll(() => page.locator('.key-value').filter({ hasText: 'Provider' }).textContent())
      .toContain(database.provider);
    for (const migration of database.migrations)
      await expect
        .poll(() => page.getByRole('cell', { name: migration.name, exact: true }).count())
        .toBe(1);
    if (database.migrations.length === 0)
      await expect.poll(() => page.getByText('No rows.').count()).toBe(1);

    const routing = await adminJson<{ routes: { match: string }[] }>('/api/routing/routes');
    await openPage('Services');
    if (routing.routes.length === 0)
      await expect.poll(() => page.getByText('No rows.').count()).toBeGreaterThan(0);
    for (const route of routing.routes)
      await expect
        .poll(() => page.getByRole('cell', { name: route.match, exact: true }).count())
        .toBeGreaterThan(0);

    await openPage('Plugins');
    await expect
      .poll(() => page.locator('.graph-node').filter({ hasText: 'control-panel' }).textContent())
      .toContain('ready');
    await expect
      .poll(() => page.locator('.graph-node').filter({ hasText: 'database' }).first().textContent())
      .toContain('ready');
  });

  it('shows a new request in the live log within 2 seconds', async () => {
    await openPage('Logs');
    await expect
      .poll(() => page.locator('.view-actions [role="status"]').textContent(), { timeout: 5_000 })
      .toBe('Live');
    const marker = `live-${Date.now().toString(36)}`;
    const response = await fetch(`${target.base}/api/v1/hello?name=${marker}`);
    expect(response.status).toBe(200);
    const started = Date.now();
    await page.locator('.log-line').filter({ hasText: marker }).first().waitFor({ timeout: 2_000 });
    expect(Date.now() - started).toBeLessThan(2_000);

    // Paused, new lines are held back and counted; resuming shows them.
    await page.getByRole('button', { name: 'Pause' }).click();
    const held = `held-${Date.now().toString(36)}`;
    await fetch(`${target.base}/api/v1/hello?name=${held}`);
    await expect
      .poll(() => page.locator('.view-actions [role="status"]').textContent())
      .toMatch(/^Paused, [1-9]\d* new$/);
    expect(await page.locator('.log-line').filter({ hasText: held }).count()).toBe(0);
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect
      .poll(() => page.locator('.log-line').filter({ hasText: held }).count())
      .toBeGreaterThan(0);
  });

  it('asks for confirmation before flushing the cache', async () => {
    await openPage('Cache');
    await page.getByRole('button', { name: 'Flush cache' }).click();
    const dialog = page.getByRole('alertdialog');
    await expect.poll(() => dialog.textContent()).toContain('Remove every entry from the cache?');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await dialog.count()).toBe(0);
    expect(await page.locator('.note-ok').count()).toBe(0);

    await page.getByRole('button', { name: 'Flush cache' }).click();
    await page.keyboard.press('Escape');
    expect(await page.getByRole('alertdialog').count()).toBe(0);

    await page.getByRole('button', { name: 'Flush cache' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Flush cache' }).click();
    await expect.poll(() => page.locator('.note-ok').textContent()).toContain('"flushed":true');
  });

  it('renders every page at 1280x800 and 390x844 (screenshots saved)', async () => {
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      for (const name of PAGES) {
        await openPage(name);
        await page.waitForLoadState('networkidle').catch(() => undefined);
        const overflow = await page.evaluate(
          'document.documentElement.scrollWidth - document.documentElement.clientWidth',
        );
        expect(overflow, `${name} at ${viewport.width}px scrolls sideways`).toBeLessThanOrEqual(0);
        await page.screenshot({
          path: path.join(
            SCREENSHOTS,
            `${name.toLowerCase()}-${viewport.width}x${viewport.height}.png`,
          ),
          fullPage: true,
        });
      }
    }
    expect(await page.getByRole('button', { name: 'Menu' }).isVisible()).toBe(true);
  });

  it('ends the session on logout', async () => {
    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === 'cpanel_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Password').waitFor();
    const after = await fetch(`${target.base}/cpanel/api/session`, {
      headers: { cookie: `cpanel_session=${session!.value}` },
    });
    expect(after.status).toBe(401);
    await page.reload();
    await page.getByLabel('Password').waitFor();
  });

  it('made no request outside the app', () => {
    expect(foreignRequests).toEqual([]);
  });
});
