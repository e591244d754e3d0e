import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { EdgeExchange, EdgeHook } from '../../core/edge.js';
import { problemBody, sendProblem } from '../../core/problem.js';
import { redactUrl } from '../../core/redact-url.js';
import type { AuthUser } from '../auth/index.js';
import { KEY_PREFIX } from './key.js';
import type { ApiKeyStore } from './store.js';

const BEARER_KEY = /^Bearer +(qwk_[^\s]+) *$/i;

/**
 * The `authenticate` hook for API keys, in both lanes. It only takes `Authorization: Bearer
 * qwk_...`: any other request costs one string test and no promise. A valid key becomes
 * `exchange.identity` (and `req.user`); the auth plugin's hook, which runs after this one, leaves
 * that identity alone and forwards it upstream. A refused key leaves the request anonymous, so
 * the auth plugin refuses it like any bad bearer token (401 on routes that ask for auth, in the
 * guard phase after the rate limits); the reason goes to the log with the key's id, never the key.
 * When the database does not answer, the key can be neither taken nor refused: a 503 the client
 * retries, rather than a 401 that would make it drop a good key.
 */
export function apiKeyHook(store: () => ApiKeyStore, logger: Logger): EdgeHook {
  return {
    name: 'api-keys',
    phase: 'authenticate',
    run(exchange) {
      if (exchange.identity !== undefined) return false;
      const header = exchange.req.headers.authorization;
      if (header === undefined || !header.includes(KEY_PREFIX)) return false;
      const token = BEARER_KEY.exec(header)?.[1];
      if (token === undefined) return false;
      return store()
        .authenticate(token)
        .then((answer) => {
          if ('unavailable' in answer) {
            logger.error({ err: answer.unavailable }, 'api key not checked: database unavailable');
            return unavailable(exchange);
          }
          if ('refused' in answer) {
            logger.info({ key: answer.id, reason: answer.refused }, 'api key refused');
            return false;
          }
          exchange.identity = answer;
          if (exchange.lane === 'express')
            (exchange.req as IncomingMessage & { user?: AuthUser }).user = answer;
          return false;
        });
    },
  };
}

/** 503 `API_KEYS_UNAVAILABLE`, with the headers earlier hooks set for every answer. */
function unavailable(exchange: EdgeExchange): true {
  const headers: Record<string, string> = {
    'x-request-id': exchange.requestId,
    'retry-after': '5',
  };
  for (const list of [exchange.defaultDataHeaders, exchange.headers])
    for (let index = 0; index < list.length; index += 2) headers[list[index]] = list[index + 1];
  sendProblem(
    exchange.res,
    problemBody(503, 'API_KEYS_UNAVAILABLE', 'API keys cannot be checked right now: retry soon.', {
      instance: redactUrl(exchange.req.url ?? '/'),
      requestId: exchange.requestId,
    }),
    headers,
  );
  return true;
}
