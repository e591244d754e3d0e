import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  PluginGraphError,
  createApp,
  definePlugin,
  type App,
  type ServerPlugin,
} from '../index.js';
import { baseUrl, captureLogs } from '../../test/support/http.js';

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

const quiet = () => ({ destination: captureLogs().stream, level: 'silent' as const });
const make = (plugins: ServerPlugin<unknown>[]) => {
  const app = createApp({
    name: 't',
    port: 0,
    host: '127.0.0.1',
    logger: quiet(),
    shutdown: { signals: false },
    plugins,
  });
  apps.push(app);
  return app;
};

/** A companion with a config, a health check, a route and every lifecycle hook, recording calls. */
function companion(name: string, calls: string[], options: unknown, dependencies: string[] = []) {
  return definePlugin({
    name,
    dependencies,
    config: { schema: z.strictObject({ greeting: z.string().min(1) }), options },
    onInit: (ctx) => void calls.push(`init:${name}:${ctx.config.greeting}`),
    onReady: () => void calls.push(`ready:${name}`),
    onShutdown: () => void calls.push(`shutdown:${name}`),
    healthCheck: async () => ({ status: 'healthy', message: `${name} fine` }),
    routes: (ctx) => [
      {
        method: 'get',
        path: `/${name}`,
        handler: (_req, res) => void res.send(ctx.config.greeting),
      },
    ],
  }) as ServerPlugin<unknown>;
}

describe('companion plugins', () => {
  it('registers the plugins a plugin brings like any other: ordered, configured, checked, listed, stopped', async () => {
    const calls: string[] = [];
    const parent = definePlugin({
      name: 'parent',
      onInit: () => void calls.push('init:parent'),
      onShutdown: () => void calls.push('shutdown:parent'),
      // Depends on a plugin given after its parent: ordered by the graph, not by where it came from.
      plugins: [companion('child', calls, { greeting: 'hello' }, ['database'])],
    });
    const database = definePlugin({
      name: 'database',
      onInit: () => void calls.push('init:database'),
      onShutdown: () => void calls.push('shutdown:database'),
    });
    const app = make([parent, database]);
    await app.start();

    expect(await (await fetch(`${baseUrl(app)}/child`)).text()).toBe('hello');
    expect(app.context.plugins().find((plugin) => plugin.name === 'child')).toMatchObject({
      state: 'ready',
      companionOf: 'parent',
      dependencies: ['database'],
    });
    expect(
      app.context.plugins().find((plugin) => plugin.name === 'parent')?.companionOf,
    ).toBeUndefined();
    expect(app.context.config.effective().child).toEqual({ greeting: 'hello' });
    expect(
      app.context.health.summary().checks.find((check) => check.name === 'child'),
    ).toMatchObject({ plugin: 'child', status: 'healthy' });
    expect(app.context.routes()).toContainEqual(
      expect.objectContaining({ path: '/child', plugin: 'child' }),
    );
    await app.stop();
    expect(calls).toEqual([
      'init:parent',
      'init:database',
      'init:child:hello',
      'ready:child',
      'shutdown:child',
      'shutdown:database',
      'shutdown:parent',
    ]);
  });

  it("reports a companion's bad options with the rest, named after the companion", () => {
    const parent = definePlugin({
      name: 'parent',
      plugins: [
        definePlugin({
          name: 'outer',
          plugins: [companion('inner', [], { greeting: '' })],
        }) as ServerPlugin<unknown>,
      ],
    });
    const failure = (() => {
      try {
        make([parent, companion('sibling', [], { greeting: 42 })]);
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).issues.map((issue) => issue.name)).toEqual([
      'plugins.inner.greeting',
      'plugins.sibling.greeting',
    ]);
  });

  it('refuses a companion whose name another plugin already has', () => {
    const parent = definePlugin({
      name: 'parent',
      plugins: [definePlugin({ name: 'cache' }) as ServerPlugin<unknown>],
    });
    expect(() => make([parent, definePlugin({ name: 'cache' }) as ServerPlugin<unknown>])).toThrow(
      PluginGraphError,
    );
  });
});
