import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type * as RateLimitLibrary from 'express-rate-limit';
import type { Options, RateLimitRequestHandler, Store } from 'express-rate-limit';
import type { Logger } from 'pino';
import type { EdgeHook } from '../../core/edge.js';
import { HttpError } from '../../core/errors.js';
import { redactUrl } from '../../core/redact-url.js';
import { problemBody, sendProblem } from '../../core/problem.js';
import { compileMatch, matchablePath } from './match.js';
import { WindowCounter, partitionKey } from './window-counter.js';
import { ruleName, type RateLimitConfig } from './options.js';

/** The limits as other plugins see them (`ctx.get('rateLimit')`). */
export interface RateLimiter {
  /**
   * Applies the same limits and counters to a request handled outside Express (the routing
   * plugin's proxied routes). Resolves true when the request may proceed; false when it was
   * already answered (429, or 503 when the store fails and `failOpen` is false).
   */
  check(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** The name of the rule that applies to a request, if any. */
  ruleFor(req: IncomingMessage): string | undefined;
  /** The rules in the order they are checked (the default, then the control plane's, last). */
  rules(): RateLimitRuleInfo[];
  /** Forgets the count of one client key (an address, or `user:NAME` on the control plane) under every rule. */
  reset(key: string): Promise<void>;
}

export interface RateLimitRuleInfo {
  name: string;
  match: string;
  windowMs: number;
  limit: number;
  methods?: string[];
}

interface CompiledRule {
  info: RateLimitRuleInfo;
  matches: (path: string) => boolean;
  methods?: ReadonlySet<string>;
  keyOf: (req: IncomingMessage) => string | Promise<string>;
  /** Memory: counted here, synchronously. */
  counter?: WindowCounter;
  /** Redis: counted by express-rate-limit in its store. */
  handler?: RateLimitRequestHandler;
  /** `RateLimit-Policy` for draft-7, computed once. */
  policy: string;
  /** What starts every `RateLimit` value of the rule, computed once: `limit=100, remaining=` (draft-7), `"name"; r=` (draft-8). */
  statePrefix: string;
  windowSeconds: number;
}

/** Creates the store a rule counts in; each rule needs its own (their keys would collide). */
export type StoreFactory = (rule: string, windowMs: number) => Store;

type RateLimitModule = typeof RateLimitLibrary;
type Outcome = { allowed: boolean; error?: unknown };

// `draft-8` headers are appended with Express's `res.append`; a bare node response lacks it.
function withAppend(res: ServerResponse): ServerResponse {
  const target = res as ServerResponse & { append?: (name: string, value: string) => void };
  if (typeof target.append !== 'function') {
    target.append = (name, value) => {
      const previous = target.getHeader(name);
      target.setHeader(
        name,
        previous === undefined
          ? value
          : [...(Array.isArray(previous) ? previous : [String(previous)]), value],
      );
    };
  }
  return target;
}

function describeWindow(windowMs: number): string {
  if (windowMs % 3_600_000 === 0) return `${windowMs / 3_600_000} h`;
  if (windowMs % 60_000 === 0) return `${windowMs / 60_000} min`;
  return `${windowMs / 1000} s`;
}

export interface RateLimiterWiring {
  logger: Logger;
  storeFor: StoreFactory;
  /** The client address under the app's one trustProxy. */
  clientAddress: (req: IncomingMessage) => string;
  /** Whether a request is for the control plane (the app's `isControlPlane`). */
  isControlPlane?: (req: IncomingMessage) => boolean;
  /** Who a request that passed the admin guard acts as. */
  identify?: (req: IncomingMessage) => string | undefined;
}

/**
 * Builds one express-rate-limit instance per rule and the ways to apply them: `hook` for the
 * product's requests in the edge pipeline (both lanes, upgrades), `limiter.check` for a
 * plugin's own raw handler, and
 * `controlPlane` for management routes, after the guard.
 */
export function buildRateLimiter(
  library: RateLimitModule,
  config: RateLimitConfig,
  options: RateLimiterWiring,
): { limiter: RateLimiter; hook: EdgeHook; controlPlane?: RequestHandler } {
  const { logger } = options;
  const ipOf = options.clientAddress;
  const libraryLogger = {
    error: (error: unknown, message?: string) =>
      logger.error({ err: error }, message ?? 'rate limiter error'),
    warn: (error: unknown, message?: string) =>
      logger.warn({ err: error }, message ?? 'rate limiter warning'),
  };

  // The key of the last address seen: a client's requests come in runs (keep-alive, one address
  // behind many connections), and the library's key costs an IPv6 test and, for IPv6, a mask.
  let lastAddress: string | undefined;
  let lastKey = '';
  const ipKey = (req: IncomingMessage) => {
    const address = ipOf(req);
    if (address !== lastAddress) {
      lastKey = library.ipKeyGenerator(address, config.ipv6Subnet);
      lastAddress = address;
    }
    return lastKey;
  };
  const clientKey = (req: IncomingMessage) =>
    config.keyGenerator ? config.keyGenerator(req, ipOf(req)) : ipKey(req);
  /**
   * A signed-in caller counts per user (`user:<id>`, from the identity the authenticate hook
   * settled), so people behind one NAT or proxy don't share a bucket; everyone else per address.
   * Only for rules on the default key: a custom `keyGenerator` decides for itself.
   */
  const byUser = config.keyGenerator === undefined;
  /** The user key of a request on its way to express-rate-limit (the Redis store). */
  const userKeys = new WeakMap<IncomingMessage, string>();
  /** The edge's data-answer headers of a request on its way there, for a refusal. */
  const answerHeaders = new WeakMap<IncomingMessage, readonly string[]>();

  /** Answers 429 problem+json; `retryAfter` in seconds. */
  const refuse = (
    info: RateLimitRuleInfo,
    req: IncomingMessage,
    res: ServerResponse,
    retryAfter: number,
    answer: readonly string[] | undefined = answerHeaders.get(req),
  ) => {
    const url = redactUrl((req as { originalUrl?: string }).originalUrl ?? req.url ?? '/');
    const requestId = (req as { id?: string }).id;
    logger.debug({ rule: info.name, url }, 'rate limit exceeded');
    if (requestId !== undefined && !res.headersSent) res.setHeader('x-request-id', requestId);
    // The edge's headers for a data answer (the security plugin's), as every answer carries.
    if (answer && !res.headersSent)
      for (let index = 0; index < answer.length; index += 2)
        res.setHeader(answer[index], answer[index + 1]);
    sendProblem(
      res,
      problemBody(
        429,
        'RATE_LIMIT_EXCEEDED',
        `Too many requests: at most ${info.limit} per ${describeWindow(info.windowMs)}. Retry after ${retryAfter} s.`,
        {
          instance: url,
          requestId,
          details: { limit: info.limit, windowMs: info.windowMs, retryAfter },
        },
      ),
    );
  };

  const compile = (
    info: RateLimitRuleInfo,
    keyOf: CompiledRule['keyOf'] = clientKey,
  ): CompiledRule => {
    const store = options.storeFor(info.name, info.windowMs);
    const windowSeconds = Math.ceil(info.windowMs / 1000);
    const compiled: CompiledRule = {
      info,
      matches: compileMatch(info.match),
      methods: info.methods ? new Set(info.methods) : undefined,
      keyOf,
      policy: `${info.limit};w=${windowSeconds}`,
      statePrefix:
        config.standardHeaders === 'draft-7'
          ? `limit=${info.limit}, remaining=`
          : `"${info.name}"; r=`,
      windowSeconds,
    };
    if (store instanceof WindowCounter) {
      compiled.counter = store;
      return compiled;
    }
    compiled.handler = library.rateLimit({
      windowMs: info.windowMs,
      limit: info.limit,
      standardHeaders: config.standardHeaders,
      legacyHeaders: false,
      identifier: info.name,
      store,
      passOnStoreError: config.failOpen,
      logger: libraryLogger,
      keyGenerator: async (req) => userKeys.get(req) ?? keyOf(req),
      handler: (req, res) =>
        refuse(info, req, res, Number(res.getHeader('retry-after')) || windowSeconds),
    } satisfies Partial<Options>);
    return compiled;
  };

  /**
   * One count in memory, and its headers (the library's, draft-7 or draft-8); true when the
   * request may proceed, false when it was refused with 429.
   */
  const count = (
    rule: CompiledRule,
    counter: WindowCounter,
    key: string,
    req: IncomingMessage,
    res: ServerResponse,
    headers?: string[],
    answer?: readonly string[],
  ): boolean => {
    const now = Date.now();
    const client = counter.hit(key, now);
    const { limit } = rule.info;
    const remaining = limit > client.hits ? limit - client.hits : 0;
    const reset = client.resetAt > now ? Math.ceil((client.resetAt - now) / 1000) : 0;
    let policy: string, state: string;
    if (config.standardHeaders === 'draft-7') {
      policy = rule.policy;
      state = `${rule.statePrefix}${remaining}, reset=${reset}`;
    } else {
      // The policy names the client's partition: the same string for all of its requests.
      client.policy ??= `"${rule.info.name}"; q=${limit}; w=${rule.windowSeconds}; pk=:${partitionKey(key)}:`;
      policy = client.policy;
      state = `${rule.statePrefix}${remaining}; t=${reset}`;
    }
    const allowed = client.hits <= limit;
    // Going on: the headers ride with the answer's head (the edge's list); refused: set here.
    if (allowed && headers) {
      headers.push('ratelimit-policy', policy, 'ratelimit', state);
      return true;
    }
    if (!res.headersSent) {
      res.setHeader('ratelimit-policy', policy);
      res.setHeader('ratelimit', state);
    }
    if (allowed) return true;
    if (!res.headersSent) res.setHeader('retry-after', String(reset));
    refuse(rule.info, req, res, reset, answer);
    return false;
  };

  const rules = config.rules.map((rule) =>
    compile({
      name: ruleName(rule),
      match: rule.match,
      windowMs: rule.windowMs,
      limit: rule.limit,
      methods: rule.methods,
    }),
  );
  const fallback = config.default
    ? compile({ name: 'default', match: '/', ...config.default })
    : undefined;
  // Operators count per user once the guard has said who they are; an anonymous caller per address.
  const operatorKey = (req: IncomingMessage) => {
    const user = options.identify?.(req);
    return user === undefined ? `ip:${ipKey(req)}` : `user:${user}`;
  };
  const control = config.controlPlane
    ? compile({ name: 'control-plane', match: '/', ...config.controlPlane }, operatorKey)
    : undefined;
  const all = [...rules, ...(fallback ? [fallback] : []), ...(control ? [control] : [])];
  const isControlPlane = control && options.isControlPlane;

  /** `path` as the edge normalised it, or a request's URL for `check` and `ruleFor`. */
  const pick = (
    req: IncomingMessage,
    path = matchablePath((req as { originalUrl?: string }).originalUrl ?? req.url ?? '/'),
  ): CompiledRule | undefined => {
    for (const rule of rules) {
      if ((!rule.methods || rule.methods.has(req.method ?? 'GET')) && rule.matches(path))
        return rule;
    }
    return fallback;
  };

  const enforce = async (
    handler: RateLimitRequestHandler,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<Outcome> => {
    let outcome: Outcome = { allowed: false };
    // The library answers 429 itself (refuse) and calls next only to let a request through.
    await handler(req as never, res as never, (error?: unknown) => {
      outcome = error === undefined ? { allowed: true } : { allowed: false, error };
    });
    return outcome;
  };

  /** A failing store with `failOpen: false`: 503 problem+json. */
  const unavailable = (
    rule: CompiledRule,
    req: IncomingMessage,
    res: ServerResponse,
    error: unknown,
  ): false => {
    logger.error(
      { err: error, rule: rule.info.name },
      'rate limit store failed; request refused (failOpen is false)',
    );
    const problem = new HttpError(
      503,
      'RATE_LIMIT_UNAVAILABLE',
      'Rate limiting is unavailable right now; try again shortly.',
      { cause: error },
    );
    sendProblem(
      res,
      problemBody(problem.status, problem.code, problem.message, {
        instance: redactUrl(req.url ?? '/'),
        requestId: (req as { id?: string }).id,
      }),
    );
    return false;
  };

  /**
   * True when the request may proceed; false when it was answered (429, or 503). Synchronous
   * for the memory store unless a custom key generator answers with a promise.
   */
  const admit = (
    rule: CompiledRule,
    req: IncomingMessage,
    res: ServerResponse,
    headers?: string[],
    user?: string,
    answer?: readonly string[],
  ): boolean | Promise<boolean> => {
    const { counter, handler } = rule;
    const userKey =
      user !== undefined && byUser && rule.keyOf === clientKey ? `user:${user}` : undefined;
    if (counter) {
      const key = userKey ?? rule.keyOf(req);
      return typeof key === 'string'
        ? count(rule, counter, key, req, res, headers, answer)
        : key.then((resolved) => count(rule, counter, resolved, req, res, headers, answer));
    }
    if (userKey !== undefined) userKeys.set(req, userKey);
    if (answer !== undefined && answer.length > 0) answerHeaders.set(req, answer);
    return enforce(handler!, req, withAppend(res)).then(
      ({ allowed, error }) => (error === undefined ? allowed : unavailable(rule, req, res, error)),
      (error: unknown) => unavailable(rule, req, res, error),
    );
  };

  /**
   * The edge hook (limit phase), for both lanes and upgrades: the first rule that matches the
   * path the edge normalised, else the default. The control plane is counted after the admin
   * guard instead, in its own bucket (`controlPlane`).
   */
  const hook: EdgeHook = {
    name: 'rate-limit',
    phase: 'limit',
    run({ req, res, path, lane, headers, identity, defaultDataHeaders }) {
      if (lane === 'express' && isControlPlane?.(req)) return false;
      const rule = pick(req, path.toLowerCase());
      if (!rule) return false;
      const allowed = admit(rule, req, res, headers, identity?.id, defaultDataHeaders);
      return typeof allowed === 'boolean' ? !allowed : allowed.then((proceed) => !proceed);
    },
  };

  const limiter: RateLimiter = {
    async check(req, res) {
      const rule = pick(req);
      return rule ? admit(rule, req, res) : true;
    },
    ruleFor: (req) => pick(req)?.info.name,
    rules: () => all.map((rule) => ({ ...rule.info })),
    async reset(key) {
      await Promise.all(
        all.map((rule) =>
          rule.counter ? rule.counter.resetKey(key) : rule.handler!.resetKey(key),
        ),
      );
    },
  };
  const controlPlane: RequestHandler | undefined =
    control &&
    ((req, res, next) => {
      const allowed = admit(control, req, res);
      if (allowed === true) next();
      else if (allowed !== false) allowed.then((proceed) => proceed && next(), next);
    });
  return { limiter, hook, controlPlane };
}
