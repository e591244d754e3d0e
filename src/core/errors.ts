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

/** A plugin's (or the core's) codes: each code's HTTP status and what it means, for `docs/error-codes.md`. */
export type ErrorCodeTable = Readonly<
  Record<string, { readonly status: number; readonly meaning: string }>
>;

/**
 * The core's own codes: the admin gate (`ADMIN_*`), request heads and bodies (`REQUEST_*`), the
 * 404 and 500 answers. A plugin's codes live in its `errors.ts`, prefixed with its name.
 */
export const CORE_ERRORS = {
  ADMIN_CROSS_SITE: {
    status: 403,
    meaning: "A state-changing call to a management endpoint came from another site's page.",
  },
  ADMIN_GUARD_REQUIRED: {
    status: 401,
    meaning:
      'A management endpoint was called through a proxy or from another machine, and no guard is installed.',
  },
  ADMIN_HOST_REFUSED: {
    status: 403,
    meaning:
      'A management endpoint was called with a Host that is neither this machine nor an allowed host.',
  },
  ADMIN_TOKEN_INVALID: { status: 401, meaning: 'The management token is wrong.' },
  ADMIN_TOKEN_REQUIRED: {
    status: 401,
    meaning: 'A management endpoint needs `Authorization: Bearer <MANAGEMENT_TOKEN>`.',
  },
  INTERNAL_ERROR: {
    status: 500,
    meaning: 'An unexpected error; the log line with the same request id has the cause.',
  },
  REQUEST_ABORTED: {
    status: 400,
    meaning: 'The client aborted the request while its body was read.',
  },
  REQUEST_AMBIGUOUS_FRAMING: {
    status: 400,
    meaning:
      'The request has both Content-Length and Transfer-Encoding, or several of either (request smuggling).',
  },
  REQUEST_BODY_TOO_LARGE: {
    status: 413,
    meaning: 'The request body is larger than the body limit.',
  },
  REQUEST_DUPLICATE_HOST: { status: 400, meaning: 'The request has more than one Host header.' },
  REQUEST_HEADERS_TOO_LARGE: {
    status: 431,
    meaning: 'The request head is larger than the server accepts (Node: 16 KiB by default).',
  },
  REQUEST_HOST_REQUIRED: { status: 400, meaning: 'An HTTP/1.1 request has no Host header.' },
  REQUEST_INVALID: {
    status: 400,
    meaning:
      'A 4xx raised by Express or a library without a code of its own; the status is theirs.',
  },
  REQUEST_MALFORMED: {
    status: 400,
    meaning: "Node's HTTP parser refused the request: a malformed request line, header or chunk.",
  },
  REQUEST_MALFORMED_JSON: { status: 400, meaning: 'The request body is not valid JSON.' },
  REQUEST_SIZE_MISMATCH: {
    status: 400,
    meaning: 'The request body does not match its Content-Length.',
  },
  REQUEST_TIMEOUT: {
    status: 408,
    meaning:
      'The request head (`headersTimeout`) or the whole request (`requestTimeout`) came too late.',
  },
  REQUEST_UNSUPPORTED_CHARSET: {
    status: 415,
    meaning: 'The request body charset is not supported.',
  },
  REQUEST_UNSUPPORTED_ENCODING: {
    status: 415,
    meaning: 'The request body encoding is not supported.',
  },
  ROUTE_NOT_FOUND: { status: 404, meaning: 'No route answers this method and path.' },
} as const satisfies ErrorCodeTable;

/** Codes of the errors `createApp` and `start()` throw: never an HTTP answer, always at start-up. */
export const STARTUP_ERRORS = {
  CONFIG_INVALID: {
    meaning: 'ConfigError: options or environment variables are invalid; `issues` names each one.',
  },
  PLUGIN_CYCLE: {
    meaning:
      'PluginGraphError: plugin dependencies form a cycle; the message names its whole path.',
  },
  PLUGIN_DUPLICATE: {
    meaning: 'PluginGraphError: two plugins have one name (or a plugin is named "app").',
  },
  PLUGIN_MISSING_DEPENDENCY: {
    meaning: 'PluginGraphError: a plugin depends on one that is not registered.',
  },
  PLUGIN_REQUIREMENT_UNMET: {
    meaning:
      "PluginRequirementError: a plugin's `requires` is not met (the framework's or another plugin's version is out of range, a required plugin is missing, a range is invalid); `unmet` lists each, naming both sides.",
  },
  PLUGIN_START_FAILED: {
    meaning:
      "PluginLifecycleError: a plugin's onInit or onReady threw; `plugin` names it, `cause` says why.",
  },
} as const;

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
        issues
          .map((i) => `  - ${i.name}: expected ${i.expected}, received ${i.received}`)
          .join('\n'),
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

/**
 * Plugins' version requirements (`ServerPlugin.requires`) not met, all of them at once, each
 * naming both sides: `users 1.2.0 requires database ^2.0.0, found 1.4.1`.
 */
export class PluginRequirementError extends Error {
  readonly code = 'PLUGIN_REQUIREMENT_UNMET';
  readonly unmet: string[];
  constructor(unmet: string[]) {
    super(
      `Plugin requirements not met (${unmet.length}):\n` +
        unmet.map((line) => `  - ${line}`).join('\n'),
    );
    this.name = 'PluginRequirementError';
    this.unmet = unmet;
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
