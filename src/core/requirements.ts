import semver from 'semver';
import { PluginRequirementError } from './errors.js';
import type { ServerPlugin } from './plugin.js';

type Checked = Pick<ServerPlugin, 'name' | 'version' | 'requires' | 'optionalDependencies'>;

// A prerelease inside a range satisfies it (`1.5.0-beta.1` is in `^1.0.0`), which npm's default
// leaves out; one below the range's floor still does not (`2.0.0-rc.1` is not in `^2.0.0`).
const RANGE_OPTIONS = { includePrerelease: true } as const;

/**
 * Checks every plugin's `requires` against the framework's version and the registered plugins'
 * versions, and throws one `PluginRequirementError` listing each unmet requirement
 * (`users 1.2.0 requires database ^2.0.0, found 1.4.1`). A plugin named in `requires.plugins`
 * must be registered, unless it is one of the plugin's `optionalDependencies`: then the range
 * applies only when it is there.
 */
export function checkRequirements(plugins: readonly Checked[], coreVersion: string): void {
  const byName = new Map(plugins.map((plugin) => [plugin.name, plugin]));
  const unmet: string[] = [];
  for (const plugin of plugins) {
    const { requires } = plugin;
    if (requires === undefined) continue;
    const who = plugin.version === undefined ? plugin.name : `${plugin.name} ${plugin.version}`;
    if (!isRecord(requires)) {
      unmet.push(`${who} has requires ${JSON.stringify(requires)}, expected { core?, plugins? }`);
      continue;
    }
    if (requires.core !== undefined) {
      const problem = rangeProblem(requires.core, coreVersion, 'core');
      if (problem) unmet.push(`${who} requires ${problem}`);
    }
    const wanted = requires.plugins ?? {};
    if (!isRecord(wanted)) {
      unmet.push(`${who} has requires.plugins ${JSON.stringify(wanted)}, expected { name: range }`);
      continue;
    }
    for (const [name, range] of Object.entries(wanted)) {
      const found = byName.get(name);
      if (found === undefined) {
        const invalid = invalidRange(name, range);
        if (invalid) unmet.push(`${who} requires ${invalid}`);
        else if (!plugin.optionalDependencies?.includes(name))
          unmet.push(
            `${who} requires ${name} ${range}, found no plugin "${name}" (add it to plugins)`,
          );
        continue;
      }
      const problem = rangeProblem(range, found.version, name);
      if (problem) unmet.push(`${who} requires ${problem}`);
    }
  }
  if (unmet.length > 0) throw new PluginRequirementError(unmet);
}

/** Why `version` fails `range` for `name` (`database ^2.0.0, found 1.4.1`), or undefined. */
function rangeProblem(range: unknown, version: string | undefined, name: string) {
  const invalid = invalidRange(name, range);
  if (invalid) return invalid;
  const wanted = `${name} ${String(range)}`;
  if (version === undefined) return `${wanted}, found "${name}" without a version`;
  if (semver.valid(version) === null)
    return `${wanted}, found "${version}", which is not a semver version`;
  if (!semver.satisfies(version, range as string, RANGE_OPTIONS))
    return `${wanted}, found ${version}`;
  return undefined;
}

function invalidRange(name: string, range: unknown) {
  if (typeof range === 'string' && semver.validRange(range, RANGE_OPTIONS) !== null)
    return undefined;
  return `${name} ${JSON.stringify(range)}, which is not a semver range`;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
