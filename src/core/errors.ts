/**
 * The one error type of the framework. `code` is stable and upper-snake, prefixed by the
 * plugin that raises it (`CACHE_UNAVAILABLE`, `ROUTING_UPSTREAM_TIMEOUT`).
 * @example throw new HttpError(404, 'USERS_NOT_FOUND', `No user with id ${id}`)
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  /** Extra members merged into the problem+json answer (RFC 9457 extension members). */
  readonly details?: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.details = options.details;
  }
}

/** One problem found while validating configuration. */
export interface ConfigIssue {
  /** The environment variable or option path, e.g. `PORT` or `plugins.cache.ttl`. */
  name: string;
  /** What was received, already masked when the value is secret. */
  received: string;
  /** What is expected, in words. */
  expected: string;
}

/** Every configuration problem at once, so a start-up fails a single time with the whole list. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(
      `Invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  - ${i.name}: expected ${i.expected}, received ${i.received}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Plugin graph problems: a missing dependency, a cycle, a duplicate name. */
export class PluginGraphError extends Error {
  readonly code: 'PLUGIN_MISSING_DEPENDENCY' | 'PLUGIN_CYCLE' | 'PLUGIN_DUPLICATE';
  constructor(code: PluginGraphError['code'], message: string) {
    super(message);
    this.name = 'PluginGraphError';
    this.code = code;
  }
}

/** A plugin's `onInit` (or `onReady`) failed; start-up stops and names the plugin. */
export class PluginLifecycleError extends Error {
  readonly code = 'PLUGIN_START_FAILED';
  readonly plugin: string;
  readonly phase: 'onInit' | 'onReady';
  constructor(plugin: string, phase: 'onInit' | 'onReady', cause: unknown) {
    super(`Plugin "${plugin}" failed in ${phase}: ${errorMessage(cause)}`, { cause });
    this.name = 'PluginLifecycleError';
    this.plugin = plugin;
    this.phase = phase;
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
