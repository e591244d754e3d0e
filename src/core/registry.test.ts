import { afterEach, describe, expect, it } from 'vitest';
import {
  PluginGraphError,
  createApp,
  definePlugin,
  PLUGIN_ORDER,
  type App,
  type ServerPlugin,
} from '../index.js';
import { captureLogs } from '../../test/support/http.js';
import { orderPlugins } from './registry.js';

declare module './services.js' {
  interface Services {
    /** Only for the optional-dependency test below. */
    registryTestStore: { kind: string };
  }
}

type Node = Pick<ServerPlugin, 'name' | 'order' | 'dependencies' | 'optionalDependencies'>;
const names = (plugins: Node[]) => orderPlugins(plugins).map((plugin) => plugin.name);

function graphError(plugins: Node[]): PluginGraphError {
  try {
    orderPlugins(plugins);
  } catch (error) {
    if (error instanceof PluginGraphError) return error;
    throw error;
  }
  throw new Error('expected a PluginGraphError');
}

describe('orderPlugins', () => {
  it('puts dependencies first, then lower order, then the order given', () => {
    expect(
      names([
        { name: 'users', dependencies: ['database'] },
        { name: 'static', order: PLUGIN_ORDER.last },
        { name: 'database', order: PLUGIN_ORDER.routing },
        { name: 'security', order: PLUGIN_ORDER.early },
        { name: 'reports' },
      ]),
    ).toEqual(['security', 'reports', 'database', 'users', 'static']);
  });

  it('names the plugin and the missing dependency, and says what to do', () => {
    const error = graphError([{ name: 'users', dependencies: ['database'] }]);
    expect(error.code).toBe('PLUGIN_MISSING_DEPENDENCY');
    expect(error.message).toBe(
      'Plugin "users" depends on "database", which is not registered (users -> database). Add it to plugins.',
    );
  });

  it('names a cycle with its whole path', () => {
    const error = graphError([
      { name: 'audit' },
      { name: 'users', dependencies: ['roles'] },
      { name: 'roles', dependencies: ['sessions'] },
      { name: 'sessions', dependencies: ['users'] },
    ]);
    expect(error.code).toBe('PLUGIN_CYCLE');
    expect(error.message).toBe('Plugin dependency cycle: users -> roles -> sessions -> users');
  });

  it('refuses two plugins with one name', () => {
    const error = graphError([{ name: 'cache' }, { name: 'cache' }]);
    expect(error.code).toBe('PLUGIN_DUPLICATE');
    expect(error.message).toContain('"cache"');
  });

  it('orders an optional dependency first when it is registered, whatever its order', () => {
    const plugins: Node[] = [
      { name: 'traffic', order: PLUGIN_ORDER.early, optionalDependencies: ['database'] },
      { name: 'database', order: PLUGIN_ORDER.last },
    ];
    expect(names(plugins)).toEqual(['database', 'traffic']);
  });

  it('ignores an optional dependency that is not registered', () => {
    expect(
      names([
        { name: 'traffic', optionalDependencies: ['database'] },
        { name: 'cache', order: PLUGIN_ORDER.early },
      ]),
    ).toEqual(['cache', 'traffic']);
  });

  it('names a cycle that runs through an optional dependency', () => {
    const error = graphError([
      { name: 'traffic', optionalDependencies: ['database'] },
      { name: 'database', dependencies: ['traffic'] },
    ]);
    expect(error.message).toBe('Plugin dependency cycle: traffic -> database -> traffic');
  });
});

describe('optional dependencies in an app', () => {
  const apps: App[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });

  it('initialises a present optional dependency first, so ctx.tryGet finds its service', async () => {
    const seen: string[] = [];
    const store = definePlugin({
      name: 'store',
      order: PLUGIN_ORDER.last,
      onInit: (ctx) => ctx.provide('registryTestStore', { kind: 'db' }),
    });
    const user = definePlugin({
      name: 'user',
      optionalDependencies: ['store'],
      onInit: (ctx) => void seen.push(ctx.tryGet('registryTestStore') ? 'store found' : 'no store'),
    });
    const logger = { destination: captureLogs().stream, level: 'silent' as const };
    for (const plugins of [[user, store], [user]]) {
      const app = createApp({
        name: 'optional',
        port: 0,
        host: '127.0.0.1',
        logger,
        shutdown: { signals: false, readinessDelay: 0 },
        plugins,
      });
      apps.push(app);
      await app.start();
    }
    expect(seen).toEqual(['store found', 'no store']);
  });
});
