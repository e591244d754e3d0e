import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp, definePlugin, type App } from '../../src/index.js';
import { formView } from '../../src/core/ui.js';
import { createControlPanelPlugin } from '../../src/plugins/control-panel/index.js';
import { baseUrl } from '../support/http.js';
import { launchBrowser, requireBuiltUi } from './support/full-app.js';

/**
 * What a plugin can add without React: a form generated from its zod schema, and the escape
 * hatch, a prebuilt ES module the plugin serves and the panel imports.
 */

const PASSWORD = 'extension-password';
const settingsSchema = z.object({
  greeting: z.string().min(2).describe('Shown on the home page'),
  retries: z.number().int().min(0).max(5).default(2),
});
const received: unknown[] = [];

const tools = definePlugin({
  name: 'tools',
  version: '0.0.1',
  routes: [
    {
      method: 'post',
      path: '/api/tools/settings',
      access: 'admin',
      handler: (req, res) => {
        const parsed = settingsSchema.safeParse(req.body);
        if (!parsed.success) return void res.status(400).json({ detail: 'invalid' });
        received.push(parsed.data);
        res.json({ saved: parsed.data.greeting });
      },
    },
    {
      method: 'get',
      path: '/tools/page.js',
      handler: (_req, res) =>
        void res
          .type('text/javascript')
          .send(
            'export default function mount(element, context) { const p = document.createElement("p"); p.textContent = "custom page under " + context.mountPath + (context.csrfToken ? " with a token" : ""); element.append(p); return () => p.remove(); }',
          ),
    },
  ],
  ui: {
    pages: [
      {
        id: 'tools',
        title: 'Tools',
        route: '/tools',
        icon: 'box',
        views: [
          {
            ...formView(settingsSchema, '/api/tools/settings', { submitLabel: 'Save settings' }),
            title: 'Settings',
          },
          { kind: 'custom', title: 'Custom', module: '/tools/page.js' },
        ],
      },
    ],
  },
});

let app: App;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  requireBuiltUi();
  app = createApp({
    name: 'extensions',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false, readinessDelay: 0 },
    plugins: [createControlPanelPlugin({ password: PASSWORD }), tools],
  });
  await app.start();
  browser = await launchBrowser();
  page = await (
    await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: baseUrl(app) })
  ).newPage();
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('plugin pages in a browser', () => {
  it('renders a zod-generated form and a custom ES module page, reached with the keyboard', async () => {
    await page.goto('/cpanel/tools');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Tools');

    // The first Tab stop from the top of the page is the skip link; the menu of pages follows the
    // header controls. Start from the top once the page's own focus handling has run (two frames).
    await page.evaluate(
      'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))',
    );
    await page.evaluate('document.activeElement?.blur()');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');

    await expect
      .poll(() => page.locator('.custom-view').textContent())
      .toBe('custom page under /cpanel with a token');

    const form = page.getByRole('form', { name: 'Settings' });
    expect(await form.getByLabel('Retries').inputValue()).toBe('2');
    await form.getByLabel('Greeting').fill('hello there');
    await form.getByLabel('Retries').fill('4');
    await form.getByLabel('Retries').press('Enter');
    await expect
      .poll(() => form.getByRole('status').textContent())
      .toBe('Saved: {"saved":"hello there"}');
    expect(received).toEqual([{ greeting: 'hello there', retries: 4 }]);
  });
});
