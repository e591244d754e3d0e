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
  handler: RateLimitRequestHandler;
}

/** Creates the store a rule counts in; each rule needs its own (their keys would collide). */
export type StoreFactory = (rule: string) => Store;

type RateLimitModule = typeof RateLimitLibrary;
type Outcome = { allowed: boolean; error?: unknown };

// `draft-8` headers are appended with Express's `res.append`; a bare node response lacks it.
function withAppend(res: ServerResponse): ServerResponse {
  const target = res as ServerResponse & { append?: (name: string, value: string) => void };
  if (typeof target.append !== 'function') {
    target.append = (name, value) => {
      const previous = target.getHeader(name);
      target.setHeader(name, previous === undefined ? value : [...(Array.isArray(previous) ? previous : [String(previous)]), value]);
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
    error: (error: unknown, message?: string) => logger.error({ err: error }, message ?? 'rate limiter error'),
    warn: (error: unknown, message?: string) => logger.warn({ err: error }, message ?? 'rate limiter warning'),
  };

  const ipKey = (req: IncomingMessage) => library.ipKeyGenerator(ipOf(req), config.ipv6Subnet);
  const compile = (info: RateLimitRuleInfo, keyOf?: (req: IncomingMessage) => string): CompiledRule => {
    const limiterOptions: Partial<Options> = {
      windowMs: info.windowMs,
      limit: info.limit,
      standardHeaders: config.standardHeaders,
      legacyHeaders: false,
      identifier: info.name,
      store: options.storeFor(info.name),
      passOnStoreError: config.failOpen,
      logger: libraryLogger,
      keyGenerator: keyOf ?? (async (req) => (config.keyGenerator ? await config.keyGenerator(req, ipOf(req)) : ipKey(req))),
      handler: (req, res) => {
        const retryAfter = Number(res.getHeader('retry-after')) || Math.ceil(info.windowMs / 1000);
        logger.debug({ rule: info.name, url: redactUrl(req.originalUrl ?? req.url ?? '/') }, 'rate limit exceeded');
        sendProblem(
          res,
          problemBody(429, 'RATE_LIMIT_EXCEEDED', `Too many requests: at most ${info.limit} per ${describeWindow(info.windowMs)}. Retry after ${retryAfter} s.`, {
            instance: req.originalUrl ?? req.url,
            requestId: (req as { id?: string }).id,
            details: { limit: info.limit, windowMs: info.windowMs, retryAfter },
          }),
        );
      },
    };
    return {
      info,
      matches: compileMatch(info.match),
      methods: info.methods ? new Set(info.methods) : undefined,
      handler: library.rateLimit(limiterOptions),
    };
  };

  const rules = config.rules.map((rule) =>
    compile({ name: ruleName(rule), match: rule.match, windowMs: rule.windowMs, limit: rule.limit, methods: rule.methods }),
  );
  const fallback = config.default ? compile({ name: 'default', match: '/', ...config.default }) : undefined;
  // Operators count per user once the guard has said who they are; an anonymous caller per address.
  const operatorKey = (req: IncomingMessage) => {
    const user = options.identify?.(req);
    return user === undefined ? `ip:${ipKey(req)}` : `user:${user}`;
  };
  const control = config.controlPlane ? compile({ name: 'control-plane', match: '/', ...config.controlPlane }, operatorKey) : undefined;
  const all = [...rules, ...(fallback ? [fallback] : []), ...(control ? [control] : [])];
  const isControlPlane = control && options.isControlPlane;

  /** `path` as the edge normalised it, or a request's URL for `check` and `ruleFor`. */
  const pick = (req: IncomingMessage, path = matchablePath((req as { originalUrl?: string }).originalUrl ?? req.url ?? '/')): CompiledRule | undefined => {
    for (const rule of rules) {
      if ((!rule.methods || rule.methods.has(req.method ?? 'GET')) && rule.matches(path)) return rule;
    }
    return fallback;
  };

  const enforce = async (rule: CompiledRule, req: IncomingMessage, res: ServerResponse): Promise<Outcome> => {
    let outcome: Outcome = { allowed: false };
    // The library answers 429 itself (our handler) and calls next only to let a request through.
    await rule.handler(req as never, res as never, (error?: unknown) => {
      outcome = error === undefined ? { allowed: true } : { allowed: false, error };
    });
    return outcome;
  };

  const unavailable = (rule: CompiledRule, error: unknown) => {
    logger.error({ err: error, rule: rule.info.name }, 'rate limit store failed; request refused (failOpen is false)');
    return new HttpError(503, 'RATE_LIMIT_UNAVAILABLE', 'Rate limiting is unavailable right now; try again shortly.', { cause: error });
  };

  const apply = (rule: CompiledRule, req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1], next: Parameters<RequestHandler>[2]) => {
    enforce(rule, req, res).then(
      ({ allowed, error }) => {
        if (error !== undefined) next(unavailable(rule, error));
        else if (allowed) next();
      },
      (error: unknown) => next(unavailable(rule, error)),
    );
  };

  /** Resolves true when the request may proceed; false when it was answered (429, or 503). */
  const admit = async (rule: CompiledRule, req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const outcome = await enforce(rule, req, withAppend(res)).catch((error: unknown) => ({ allowed: false, error }));
      if (outcome.error === undefined) return outcome.allowed;
    const problem = unavailable(rule, outcome.error);
    sendProblem(res, problemBody(problem.status, problem.code, problem.message, { instance: redactUrl(req.url ?? '/'), requestId: (req as { id?: string }).id }));
    return false;
  };

  /**
   * The edge hook (limit phase), for both lanes and upgrades: the first rule that matches the
   * path the edge normalised, else the default. The control plane is counted after the admin
   * guard instead, in its own bucket (`controlPlane`).
   */
  const hook: EdgeHook = {
    name: 'rate-limit',
    phase: 'limit',
    run({ req, res, path, lane }) {
      if (lane === 'express' && isControlPlane?.(req)) return false;
      const rule = pick(req, path.toLowerCase());
      if (!rule) return false;
      return admit(rule, req, res).then((allowed) => !allowed);
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
      await Promise.all(all.map((rule) => rule.handler.resetKey(key)));
    },
  };
  return { limiter, hook, controlPlane: control && ((req, res, next) => apply(control, req, res, next)) };
}
