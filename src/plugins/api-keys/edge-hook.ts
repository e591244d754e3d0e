import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { EdgeHook } from '../../core/edge.js';
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
