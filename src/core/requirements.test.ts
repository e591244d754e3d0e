import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CORE_VERSION,
  PluginRequirementError,
  createApp,
  definePlugin,
  type App,
  type ServerPlugin,
} from '../index.js';
import * as builtIn from '../plugins/index.js';
import { captureLogs } from '../../test/support/http.js';

const quiet = { destination: captureLogs().stream, level: 'silent' as const };

function appOf(plugins: ServerPlugin<unknown>[]): App {
  return createApp({
    name: 'versions',
    port: 0,
    host: '127.0.0.1',
    logger: quiet,
    shutdown: { signals: false, readinessDelay: 0 },
    plugins,
  });
}

/** The unmet requirements `createApp` names for these plugins. */
function unmetOf(plugins: ServerPlugin<unknown>[]): string[] {
  try {
    appOf(plugins);
  } catch (error) {
    if (error instanceof PluginRequirementError) return error.unmet;
    throw error;
  }
  throw new Error('expected a PluginRequirementError');
}

const database = (version?: string) => definePlugin({ name: 'database', version });
const users = (requires: ServerPlugin['requires'], extra: Partial<ServerPlugin> = {}) =>
  definePlugin({ name: 'users', version: '1.2.0', requires, ...extra });

describe('CORE_VERSION', () => {
  it("is this package's version, read from its package.json", () => {
    const manifest = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    expect(CORE_VERSION).toBe(manifest.version);
  });

  it('is the version of every built-in plugin, as they ship with the framework', () => {
    const factories = Object.entries(builtIn).filter(([name]) => /^create\w+Plugin$/.test(name));
    expect(factories.length).toBeGreaterThan(15);
    for (const [name, factory] of factories) {
      const plugin = (factory as (options: object) => ServerPlugin)({ root: '.' });
      expect(plugin.version, name).toBe(CORE_VERSION);
    }
  });
});

describe('plugin requirements at start-up', () => {
  const apps: App[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });

  it('starts when the core and every required plugin are in range', async () => {
    const app = appOf([
      database('1.4.1'),
      users({ core: `^${CORE_VERSION}`, plugins: { database: '^1.0.0' } }),
      definePlugin({
        name: 'reports',
        requires: { plugins: { health: `~${CORE_VERSION}` } },
        dependencies: ['health'],
      }),
      builtIn.createHealthPlugin(),
    ]);
    apps.push(app);
    await app.start();
    expect(app.context.phase()).toBe('ready');
  });

  it('names both sides when a plugin is out of range', () => {
    expect(unmetOf([database('1.4.1'), users({ plugins: { database: '^2.0.0' } })])).toEqual([
      'users 1.2.0 requires database ^2.0.0, found 1.4.1',
    ]);
  });

  it("names both sides when the framework's version is out of range", () => {
    expect(unmetOf([users({ core: '^99.0.0' })])).toEqual([
      `users 1.2.0 requires core ^99.0.0, found ${CORE_VERSION}`,
    ]);
  });

  it('fails a range check against a plugin without a version, naming that', () => {
    expect(unmetOf([database(), users({ plugins: { database: '^1.0.0' } })])).toEqual([
      'users 1.2.0 requires database ^1.0.0, found "database" without a version',
    ]);
  });

  it('names a required plugin that is not registered', () => {
    expect(unmetOf([users({ plugins: { database: '^1.0.0' } })])).toEqual([
      'users 1.2.0 requires database ^1.0.0, found no plugin "database" (add it to plugins)',
    ]);
  });

  it('checks an optional dependency only when it is registered', async () => {
    const optional = () =>
      users({ plugins: { database: '^1.0.0' } }, { optionalDependencies: ['database'] });
    const app = appOf([optional()]);
    apps.push(app);
    await app.start();
    expect(unmetOf([database('2.0.0'), optional()])).toEqual([
      'users 1.2.0 requires database ^1.0.0, found 2.0.0',
    ]);
  });

  it('refuses invalid ranges and versions, named', () => {
    expect(
      unmetOf([
        database('one.four'),
        users({ core: 'latest', plugins: { database: '^1.0.0', cache: '>>1' } }),
      ]),
    ).toEqual([
      'users 1.2.0 requires core "latest", which is not a semver range',
      'users 1.2.0 requires database ^1.0.0, found "one.four", which is not a semver version',
      'users 1.2.0 requires cache ">>1", which is not a semver range',
    ]);
  });

  it('refuses requires of the wrong shape from plain JavaScript', () => {
    const loose = (requires: unknown) =>
      ({ name: 'loose', requires }) as unknown as ServerPlugin<unknown>;
    expect(unmetOf([loose('^1.0.0')])).toEqual([
      'loose has requires "^1.0.0", expected { core?, plugins? }',
    ]);
    expect(unmetOf([loose({ plugins: ['database'] })])).toEqual([
      'loose has requires.plugins ["database"], expected { name: range }',
    ]);
    expect(unmetOf([database('1.0.0'), loose({ plugins: { database: 1 } })])).toEqual([
      'loose requires database 1, which is not a semver range',
    ]);
  });

  it('lists every unmet requirement of every plugin in one error, before any onInit', () => {
    const initialised: string[] = [];
    const plugins = [
      definePlugin({
        name: 'database',
        version: '1.4.1',
        onInit: () => void initialised.push('database'),
      }),
      users({ core: '<0.0.1', plugins: { database: '^2.0.0' } }),
      definePlugin({
        name: 'billing',
        requires: { plugins: { users: '~1.1.0' } },
        onInit: () => void initialised.push('billing'),
      }),
    ];
    let thrown: unknown;
    try {
      appOf(plugins);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PluginRequirementError);
    const error = thrown as PluginRequirementError;
    expect(error.code).toBe('PLUGIN_REQUIREMENT_UNMET');
    expect(error.message).toBe(
      [
        'Plugin requirements not met (3):',
        `  - users 1.2.0 requires core <0.0.1, found ${CORE_VERSION}`,
        '  - users 1.2.0 requires database ^2.0.0, found 1.4.1',
        '  - billing requires users ~1.1.0, found 1.2.0',
      ].join('\n'),
    );
    expect(initialised).toEqual([]);
  });

  it('lets a prerelease inside a range satisfy it, but not one below its floor', () => {
    expect(() =>
      appOf([database('1.5.0-beta.1'), users({ plugins: { database: '^1.0.0' } })]),
    ).not.toThrow();
    expect(unmetOf([database('2.0.0-rc.1'), users({ plugins: { database: '^2.0.0' } })])).toEqual([
      'users 1.2.0 requires database ^2.0.0, found 2.0.0-rc.1',
    ]);
  });
});
