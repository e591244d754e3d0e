import type { AddressInfo } from 'node:net';
import { createApp, type App, type AppOptions } from '../../../index.js';
import { captureLogs } from '../../../../test/support/http.js';

export interface StartedApp {
  app: App;
  url: string;
  logs: Record<string, unknown>[];
}

/** The editorial roles the tests share: wildcards on both sides, three levels of inheritance. */
export const EDITORIAL = {
  permissions: {
    admin: ['*'],
    viewer: ['read:*'],
    editor: ['write:content', 'publish:drafts'],
    chief: ['delete:content'],
    auditor: ['*:logs'],
  },
  roles: {
    editor: { inherits: ['viewer'] },
    chief: { inherits: ['editor'], description: 'Editor in chief' },
  },
};

/** createApp on a free loopback port, logs captured at `level`. */
export async function startApp(
  plugins: NonNullable<AppOptions['plugins']>,
  level: 'info' | 'debug' = 'info',
): Promise<StartedApp> {
  const capture = captureLogs();
  const app = createApp({
    name: 'roles-test',
    port: 0,
    host: '127.0.0.1',
    logger: { destination: capture.stream, level, stdout: false },
    shutdown: { signals: false, readinessDelay: 0, drainTimeout: 1_000 },
    plugins,
  });
  await app.start();
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, logs: capture.lines };
}

/** A user as the auth plugin makes one, with only what a decision reads set. */
export function user(id: string, roles: string[] = [], permissions: string[] = []) {
  return {
    id,
    provider: 'jwt',
    issuer: 'https://id.test.example',
    subject: id,
    roles,
    permissions,
    claims: {},
  };
}
