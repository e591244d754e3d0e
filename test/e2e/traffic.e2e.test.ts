import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  requireBuiltUi,
  startFullApp,
  type FullApp,
  launchBrowser,
} from './support/full-app.js';

/**
 * The Traffic page in headless Chromium against the demo: slot cards in traffic-light colours,
 * a deploy from the page's form, promote and roll back through confirmation dialogs, and the
 * history naming the logged-in user. Short promotion waits keep the cycle to seconds.
 */

const SCREENSHOTS = path.resolve('artifacts', 'screenshots');
/** The page refreshes slots and history every 2 s: wait through a few refreshes. */
const WAIT = { timeout: 10_000 };

let target: FullApp;
let browser: Browser;
const contexts: BrowserContext[] = [];
const foreignRequests: string[] = [];

async function servedVersion(): Promise<string | number> {
  const response = await fetch(`${target.base}/api/v1/hello`);
  if (!response.ok) {
    await response.body?.cancel();
    return response.status;
  }
  return ((await response.json()) as { version: string }).version;
}

async function loggedInPage(viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport, baseURL: target.base });
  contexts.push(context);
  const origin = new URL(target.base).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    foreignRequests.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  await page.goto('/cpanel/');
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByLabel('Password').press('Enter');
  await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Dashboard');
  const menu = page.getByRole('button', { name: 'Menu' });
  if (await menu.isVisible()) await menu.click();
  await page
    .getByRole('navigation', { name: 'Pages' })
    .getByRole('link', { name: 'Traffic', exact: true })
    .click();
  await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Traffic');
  return page;
}

const card = (page: Page, slot: string): Locator =>
  page.locator('li.card').filter({ has: page.getByRole('heading', { name: slot, exact: true }) });
const fieldOf = (locator: Locator, label: string) =>
  locator
    .locator('.key-value')
    .filter({ has: locator.page().getByText(label, { exact: true }) })
    .locator('dd');
const badgeOf = (locator: Locator) => locator.locator('.card-badge').textContent();

/** The history table's rows as [slot, version, from, to, by]. */
async function historyRows(page: Page): Promise<string[][]> {
  const rows = page
    .locator('section.view')
    .filter({ has: page.getByRole('heading', { name: 'History', exact: true }) })
    .locator('tbody tr');
  const cells = await rows.evaluateAll((elements) =>
    elements.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? '')),
  );
  return cells.map((row) => [row[2], row[3], row[4], row[5], row[6]]);
}

beforeAll(async () => {
  requireBuiltUi();
  mkdirSync(SCREENSHOTS, { recursive: true });
  target = await startFullApp({
    traffic: { promotionDelay: 500, promotionChecks: 2, healthInterval: 200 },
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await target?.stop();
});

describe('Traffic page in a browser', () => {
  it(
    'deploys v2, promotes it and rolls back, each switch confirmed, the history naming the user',
    { timeout: 90_000 },
    async () => {
      const page = await loggedInPage({ width: 1280, height: 800 });

      // The first release, deployed at start-up, serves: a green card.
      const slotA = card(page, 'slot-a');
      await expect.poll(() => badgeOf(slotA), WAIT).toBe('active · green');
      expect(await slotA.getAttribute('class')).toContain('card-green');
      expect(await fieldOf(slotA, 'Version').textContent()).toBe('v1');
      expect(await servedVersion()).toBe('v1');

      // Deploy v2 from the page's form.
      await page.getByRole('textbox', { name: 'Version' }).fill('v2');
      await page.getByRole('button', { name: 'Deploy', exact: true }).click();
      await expect
        .poll(
          () =>
            page.getByRole('form', { name: 'Deploy a version' }).getByRole('status').textContent(),
          WAIT,
        )
        .toBe('Deploying v2 in slot-b; its card turns candidate once healthy.');
      const slotB = card(page, 'slot-b');
      // A release is a new process (node and tsx): on a loaded 2-core machine it may take a while.
      await expect.poll(() => badgeOf(slotB), { timeout: 45_000 }).toBe('candidate · yellow');
      expect(await slotB.getAttribute('class')).toContain('card-yellow');
      expect(await fieldOf(slotB, 'Version').textContent()).toBe('v2');
      await expect
        .poll(() => fieldOf(slotB, 'Promotable').textContent(), { timeout: 20_000 })
        .toBe('yes');
      // Still v1 until someone promotes: a candidate never gets traffic by itself here.
      expect(await servedVersion()).toBe('v1');
      await page.screenshot({
        path: path.join(SCREENSHOTS, 'traffic-candidate-1280x800.png'),
        fullPage: true,
      });

      // Promote from the candidate's own card; the dialog asks first, Cancel changes nothing.
      await slotB.getByRole('button', { name: 'Promote slot-b' }).click();
      const dialog = page.getByRole('alertdialog');
      expect(await dialog.textContent()).toContain("Switch api's traffic to v2 in slot-b?");
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      expect(await servedVersion()).toBe('v1');
      await slotB.getByRole('button', { name: 'Promote slot-b' }).click();
      await page
        .getByRole('alertdialog')
        .getByRole('button', { name: 'Promote', exact: true })
        .click();
      await expect.poll(() => servedVersion(), WAIT).toBe('v2');
      await expect.poll(() => badgeOf(slotB), WAIT).toBe('active · green');
      await expect.poll(() => badgeOf(slotA), WAIT).toBe('previous · yellow');
      await expect
        .poll(() => historyRows(page), WAIT)
        .toContainEqual(['slot-b', 'v2', 'candidate', 'active', 'admin']);
      const rows = await historyRows(page);
      expect(rows).toContainEqual(['slot-a', 'v1', 'active', 'previous', 'admin']);
      expect(rows).toContainEqual(['slot-b', 'v2', 'stopped', 'starting', 'admin']);
      await page.screenshot({
        path: path.join(SCREENSHOTS, 'traffic-promoted-1280x800.png'),
        fullPage: true,
      });

      // Roll back with the keyboard: the warm previous card's button, then Tab past Cancel, Enter.
      const rollBack = slotA.getByRole('button', { name: 'Roll back slot-a' });
      await rollBack.focus();
      await page.keyboard.press('Enter');
      const rollbackDialog = page.getByRole('alertdialog');
      expect(await rollbackDialog.textContent()).toContain(
        "Switch api's traffic back to v1 in slot-a now?",
      );
      expect(await page.locator(':focus').textContent()).toBe('Cancel');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await expect.poll(() => servedVersion(), WAIT).toBe('v1');
      await expect.poll(() => badgeOf(slotA), WAIT).toBe('active · green');
      await expect
        .poll(() => historyRows(page), WAIT)
        .toContainEqual(['slot-a', 'v1', 'previous', 'active', 'admin']);
      expect(await historyRows(page)).toContainEqual([
        'slot-b',
        'v2',
        'active',
        'candidate',
        'admin',
      ]);
      await page.screenshot({
        path: path.join(SCREENSHOTS, 'traffic-1280x800.png'),
        fullPage: true,
      });
    },
  );

  it('shows the slot cards on a phone (390x844)', async () => {
    const page = await loggedInPage({ width: 390, height: 844 });
    await expect.poll(() => badgeOf(card(page, 'slot-a')), WAIT).toBe('active · green');
    expect(await badgeOf(card(page, 'slot-b'))).toBe('candidate · yellow');
    // Cards fit the screen: nothing scrolls sideways.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      390,
    );
    await page.screenshot({ path: path.join(SCREENSHOTS, 'traffic-390x844.png'), fullPage: true });
  });

  it('made no request outside the app', () => {
    expect(foreignRequests).toEqual([]);
  });
});
