import type { Request, Response } from 'express';
import { createApp, definePlugin, type App } from '../../../index.js';
import type { ServerPlugin } from '../../../core/plugin.js';
import { bearerOf } from '../bearer.js';
import { createLoginFlow } from '../login.js';
import { LoginLimiter } from '../login-limit.js';
import { authOptionsSchema, type AuthOptions } from '../options.js';
import { authRoutes } from '../routes.js';
import { createSessionManager, type Sessions } from '../sessions.js';
import { createTokenVerifier } from '../verifier.js';

import { freePort } from '../../../../test/support/ports.js';

export { freePort };

export interface AuthTestApp {
  app: App;
  url: string;
  sessions: Sessions;
}

/**
 * Wires sessions, the login flow and the routes into an app the way the auth plugin does, for
 * the tests of these parts alone: the bearer token when there is one, else the session.
 */
export async function startAuthApp(options: {
  auth: AuthOptions;
  port?: number;
  plugins?: ServerPlugin<unknown>[];
  now?: () => number;
}): Promise<AuthTestApp> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const config = authOptionsSchema.parse({ publicUrl: url, ...options.auth });
  let sessions: Sessions | undefined;
  let routes: ReturnType<typeof authRoutes> = [];
  const plugin = definePlugin({
    name: 'auth-test',
    optionalDependencies: ['cache'],
    async onInit(ctx) {
      const verifier = createTokenVerifier(config.providers, {
        ...config.tokens,
        logger: ctx.logger,
      });
      const current = createSessionManager(config.session, {
        cache: ctx.tryGet('cache'),
        logger: ctx.logger,
        secure: config.publicUrl?.startsWith('https:') ?? false,
        now: options.now,
      });
      sessions = current;
      const flow = await createLoginFlow({
        config,
        publicUrl: config.publicUrl ?? url,
        sessions: current,
        limiter: new LoginLimiter(config.loginLimit, current.store, options.now),
        verifyToken: (token) => verifier.verify(token),
        clientOf: (req) => ctx.app.clients.of(req),
        logger: ctx.logger,
      });
      const identify = async (req: Request, res: Response) => {
        const token = bearerOf(req);
        if (token) return verifier.verify(token);
        return (await current.read(req, res))?.user;
      };
      routes = authRoutes({
        config,
        publicUrl: config.publicUrl ?? url,
        sessions: current,
        flow,
        identify,
        logger: ctx.logger,
        clients: ctx.app.clients,
      });
    },
    routes: () => routes,
  });
  const app = createApp({
    name: 'auth-test',
    port,
    host: '127.0.0.1',
    logger: { level: process.env.AUTH_TEST_LOG ? 'debug' : 'silent' },
    shutdown: { signals: false },
    plugins: [...(options.plugins ?? []), plugin],
  });
  await app.start();
  return { app, url, sessions: sessions! };
}
