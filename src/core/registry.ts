import { PluginGraphError } from './errors.js';
import { PLUGIN_ORDER, type ServerPlugin } from './plugin.js';

/** A plugin as the app registers it: given directly, or brought by another (`companionOf`). */
export interface RegisteredPlugin {
  plugin: ServerPlugin<unknown>;
  companionOf?: string;
}

/**
 * The plugins given, each followed by the companions it brings (and theirs), so the app treats a
 * companion like any plugin it was given. Names are checked later, by `orderPlugins`.
 */
export function flattenPlugins(
  plugins: readonly ServerPlugin<unknown>[],
  companionOf?: string,
): RegisteredPlugin[] {
  return plugins.flatMap((plugin) => [
    { plugin, companionOf },
    ...flattenPlugins(plugin.plugins ?? [], plugin.name),
  ]);
}

/**
 * Orders plugins: dependencies first (topological), then `order`, then the order given.
 * Optional dependencies that are registered count as dependencies; absent ones are ignored.
 * A missing dependency or a cycle fails with the whole path named (`users -> database -> users`);
 * duplicate names are refused.
 */
export function orderPlugins<
  P extends Pick<ServerPlugin, 'name' | 'order' | 'dependencies' | 'optionalDependencies'>,
>(plugins: readonly P[]): P[] {
  const byName = new Map<string, P>();
  for (const plugin of plugins) {
    if (byName.has(plugin.name)) {
      throw new PluginGraphError(
        'PLUGIN_DUPLICATE',
        `Two plugins are named "${plugin.name}"; plugin names must be unique.`,
      );
    }
    byName.set(plugin.name, plugin);
  }

  for (const plugin of plugins) {
    for (const dependency of plugin.dependencies ?? []) {
      if (!byName.has(dependency)) {
        throw new PluginGraphError(
          'PLUGIN_MISSING_DEPENDENCY',
          `Plugin "${plugin.name}" depends on "${dependency}", which is not registered (${plugin.name} -> ${dependency}). Add it to plugins.`,
        );
      }
    }
  }

  // Every edge of the graph: the required ones, and the optional ones whose plugin is there.
  const edges = new Map(
    plugins.map((plugin) => [
      plugin.name,
      [
        ...(plugin.dependencies ?? []),
        ...(plugin.optionalDependencies ?? []).filter((name) => byName.has(name)),
      ],
    ]),
  );
  const before = (plugin: P) => edges.get(plugin.name)!;

  const rank = (plugin: P) => plugin.order ?? PLUGIN_ORDER.default;
  const position = new Map(plugins.map((plugin, index) => [plugin.name, index]));
  const byPriority = (a: P, b: P) =>
    rank(a) - rank(b) || position.get(a.name)! - position.get(b.name)!;

  // Depth-first walk only to name a cycle with its whole path.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (plugin: P, path: string[]) => {
    const seen = state.get(plugin.name);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...path.slice(path.indexOf(plugin.name)), plugin.name];
      throw new PluginGraphError('PLUGIN_CYCLE', `Plugin dependency cycle: ${cycle.join(' -> ')}`);
    }
    state.set(plugin.name, 'visiting');
    for (const dependency of before(plugin)) visit(byName.get(dependency)!, [...path, plugin.name]);
    state.set(plugin.name, 'done');
  };
  for (const plugin of plugins) visit(plugin, []);

  // Kahn's algorithm: among the plugins whose dependencies are placed, take the lowest `order`.
  const ordered: P[] = [];
  const placed = new Set<string>();
  const waiting = [...plugins].sort(byPriority);
  while (waiting.length > 0) {
    const index = waiting.findIndex((plugin) => before(plugin).every((name) => placed.has(name)));
    const [next] = waiting.splice(index, 1);
    ordered.push(next);
    placed.add(next.name);
  }
  return ordered;
}
