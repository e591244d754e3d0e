import { get } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { definePlugin, type App, type ServerPlugin, type UIContribution } from '../../index.js';
import { baseUrl, rawRequest } from '../../../test/support/http.js';
import type { PanelDescription } from './index.js';
import { createControlPanelPlugin } from './index.js';
import { createCachePlugin } from '../cache/index.js';
import { createLogsPlugin } from '../logs/index.js';
import { createRoutingPlugin } from '../routing/index.js';
import { createServicesPlugin } from '../services/index.js';
import { CONTENT_SECURITY_POLICY } from './shell.js';
import { rawRequest as socketRequest } from '../static/test-support/fixtures.js';
import { login, startApp, uiFixture } from './test-support/fixtures.js';

const PASSWORD = 'correct horse battery';
const ui = uiFixture();
afterAll(() => ui.remove());
const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

async function start(
  plugins: ServerPlugin[] = [],
  options: Parameters<typeof createControlPanelPlugin>[0] = {},
) {
  const { app, logs } = await startApp([
    createControlPanelPlugin({ uiDir: ui.dir, password: PASSWORD, ...options }),
    ...plugins,
  ]);
  apps.push(app);
  return { base: baseUrl(app), logs, app };
}

/** A plugin with a given name and UI contribution; the panel decides pages by plugin name. */
const named = (name: string, contribution?: UIContribution, dependencies: string[] = []) =>
  definePlugin({ name, version: '1.2.3', dependencies, ui: contribution });

describe('serving the UI', () => {
  it('serves index.html uncached with the mount path, branding and a strict CSP, for every page route', async () => {
    const { base } = await start([], {
      mountPath: '/ops',
      branding: { title: 'Acme <ops>', accentColor: '#ff0000' },
    });
    // index.html by name too: the file on disk has neither the base href nor the settings.
    for (const path of [
      '/ops',
      '/ops/',
      '/ops/logs',
      '/ops/some/deep/page',
      '/ops/index.html',
      '/ops//index.html',
    ]) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      const html = await response.text();
      expect(html).toContain('<base href="/ops/" />');
      expect(html).toContain('<title>Acme &lt;ops&gt;</title>');
      expect(html).toContain('&quot;accentColor&quot;:&quot;#ff0000&quot;');
      expect(html.indexOf('<meta charset')).toBeLessThan(html.indexOf('<base'));
    }
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
  });

  it('serves hashed assets as immutable, gzipped when accepted, with ETag revalidation', async () => {
    const { base } = await start();
    const plain = await fetch(`${base}/cpanel/${ui.asset}`, {
      headers: { 'accept-encoding': 'identity' },
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await plain.text()).toBe(ui.assetBody);
    const etag = plain.headers.get('etag')!;
    // Over node:http: fetch adds Cache-Control: no-cache to a conditional request, which asks for
    // the whole file. Each encoding has its own ETag, so the same one is revalidated.
    const revalidated = await rawRequest(`${base}/cpanel/${ui.asset}`, {
      headers: { 'accept-encoding': 'identity', 'if-none-match': etag },
    });
    expect(revalidated.status).toBe(304);

    const encoded = (acceptEncoding: string) =>
      new Promise<{ encoding?: string; vary?: string; body: Buffer }>((resolve, reject) => {
        get(
          `${base}/cpanel/${ui.asset}`,
          { headers: { 'accept-encoding': acceptEncoding } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
              resolve({
                encoding: res.headers['content-encoding'],
                vary: res.headers.vary,
                body: Buffer.concat(chunks),
              }),
            );
          },
        ).on('error', reject);
      });
    const gzipped = await encoded('gzip');
    expect(gzipped.encoding).toBe('gzip');
    expect(gunzipSync(gzipped.body).toString()).toBe(ui.assetBody);
    // The build's brotli sibling is preferred when the browser takes both.
    const brotli = await encoded('gzip, deflate, br');
    expect(brotli).toMatchObject({ encoding: 'br', vary: 'Accept-Encoding' });
    expect(brotliDecompressSync(brotli.body).toString()).toBe(ui.assetBody);
  });

  it('refuses paths that try to leave the UI folder with 400 problem+json, not the page', async () => {
    const { base } = await start();
    // Over a raw socket: a URL-parsing client would resolve the dots before sending.
    for (const path of [
      '/cpanel/%2e%2e/package.json',
      '/cpanel/assets/..%2findex.html',
      '/cpanel/assets/%2e%2e/%2e%2e/x',
    ]) {
      const response = await socketRequest(base, path, { accept: 'text/html' });
      expect(response.status, path).toBe(400);
      expect(response.text, path).toContain('application/problem+json');
      expect(response.text, path).toContain('STATIC_PATH_INVALID');
    }
  });

  it('answers unknown assets and unknown panel API paths with 404 problem+json, not the page', async () => {
    const { base } = await start();
    for (const path of ['/cpanel/assets/missing-123.js', '/cpanel/api/nothing-here']) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(404);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
    }
  });
});

describe('GET /cpanel/api/ui', () => {
  it('lists the pages of the registered plugins, drops clashes and repeated widgets', async () => {
    const { base, logs } = await start([
      createCachePlugin(),
      createLogsPlugin(),
      named('health', {
        widgets: [
          {
            id: 'health-summary',
            title: 'Health',
            view: { kind: 'health', endpoint: '/api/health' },
          },
        ],
      }),
      named('config', {
        pages: [
          {
            id: 'config',
            title: 'Settings',
            route: '/config',
            views: [{ kind: 'json', endpoint: '/api/settings' }],
          },
        ],
      }),
      named('intruder', {
        pages: [{ id: 'cache-2', title: 'Fake cache', route: '/cache', views: [] }],
      }),
      named('reports', {
        pages: [
          {
            id: 'reports',
            title: 'Reports',
            route: '/reports',
            order: 70,
            views: [
              {
                kind: 'table',
                endpoint: '/api/reports',
                columns: [{ key: 'name', label: 'Name' }],
              },
            ],
          },
        ],
        widgets: [
          {
            id: 'report-count',
            title: 'Reports',
            view: { kind: 'keyValue', endpoint: '/api/reports/summary' },
          },
        ],
        navigation: [{ label: 'Docs', route: '/reports', order: 1 }],
      }),
    ]);
    const { cookie } = await login(base, 'admin', PASSWORD);
    const response = await fetch(`${base}/cpanel/api/ui`, { headers: { cookie } });
    expect(response.headers.get('cache-control')).toBe('no-store');
    const panel = (await response.json()) as PanelDescription;
    expect(panel.user).toBe('admin');
    expect(panel.pages.map((page) => `${page.id}:${page.plugin}`)).toEqual([
      'dashboard:control-panel',
      'logs:logs',
      'cache:cache',
      'reports:reports',
      'plugins:control-panel',
      'config:config',
    ]);
    expect(panel.pages.find((page) => page.id === 'config')!.title).toBe('Settings');
    expect(panel.pages.find((page) => page.id === 'cache')!.views.map((view) => view.kind)).toEqual(
      ['keyValue', 'actions'],
    );
    expect(
      panel.pages.some(
        (page) => page.id === 'diagnostics' || page.id === 'database' || page.id === 'services',
      ),
    ).toBe(false);
    // The dashboard shows health itself, so the health plugin's identical widget is not repeated.
    expect(panel.pages[0].views.map((view) => view.kind)).toEqual(['health']);
    expect(panel.widgets.map((widget) => widget.id)).toEqual(['report-count']);
    expect(panel.navigation).toEqual([
      { label: 'Docs', route: '/reports', order: 1, plugin: 'reports' },
    ]);
    expect(
      logs.some(
        (line) =>
          line.msg === 'control panel page dropped: id or route already taken' &&
          line.plugin === 'intruder',
      ),
    ).toBe(true);
  });

  it("joins the routing and services plugins' views into one Services page, routes first, whatever the plugin order", async () => {
    const routes = ['table /api/routing/routes', 'table /api/services'];
    for (const plugins of [
      [createServicesPlugin(), createRoutingPlugin()],
      [createRoutingPlugin(), createServicesPlugin()],
    ]) {
      const { base } = await start(plugins);
      const { cookie } = await login(base, 'admin', PASSWORD);
      const panel = (await (
        await fetch(`${base}/cpanel/api/ui`, { headers: { cookie } })
      ).json()) as PanelDescription;
      const services = panel.pages.filter((page) => page.id === 'services');
      expect(services).toHaveLength(1);
      expect(services[0]).toMatchObject({
        title: 'Services',
        route: '/services',
        icon: 'server',
        order: 60,
        plugin: 'routing',
      });
      expect(
        services[0].views.map((view) =>
          'endpoint' in view ? `${view.kind} ${view.endpoint}` : view.kind,
        ),
      ).toEqual(routes);
      expect(panel.pages.map((page) => page.id)).toEqual(['dashboard', 'services', 'plugins']);
    }
    const { base } = await start([createServicesPlugin()]);
    const { cookie } = await login(base, 'admin', PASSWORD);
    const panel = (await (
      await fetch(`${base}/cpanel/api/ui`, { headers: { cookie } })
    ).json()) as PanelDescription;
    const alone = panel.pages.find((page) => page.id === 'services')!;
    expect(alone).toMatchObject({
      title: 'Services',
      route: '/services',
      order: 60,
      plugin: 'services',
    });
    expect(alone.views.map((view) => view.title)).toEqual(['Local processes']);
    expect(Object.keys(alone)).not.toContain('shared');
  });

  it('serves the plugin graph with states and versions at /cpanel/api/plugins', async () => {
    const { base } = await start([named('database'), named('users', undefined, ['database'])]);
    const { cookie } = await login(base, 'admin', PASSWORD);
    const body = (await (
      await fetch(`${base}/cpanel/api/plugins`, { headers: { cookie } })
    ).json()) as {
      plugins: { name: string; state: string; version?: string; dependencies: string[] }[];
    };
    expect(body.plugins.find((plugin) => plugin.name === 'users')).toMatchObject({
      state: 'ready',
      version: '1.2.3',
      dependencies: ['database'],
    });
    expect(body.plugins.find((plugin) => plugin.name === 'control-panel')?.state).toBe('ready');
  });
});
