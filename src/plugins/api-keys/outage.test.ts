import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerPlugin } from '../../core/plugin.js';
import { createAuthPlugin } from '../auth/index.js';
import { createDatabasePlugin, type Database } from '../database/index.js';
import { createRoutingPlugin } from '../routing/index.js';
import {
  echoUpstream,
  startApp,
  testIssuer,
  type EchoUpstream,
  type StartedApp,
} from '../auth/test-support/gateway-kit.js';
import { createApiKeysPlugin } from './index.js';
import { KEYS_TABLE } from './schema.js';

describe('API keys when the database fails', () => {
  let started: StartedApp;
  let service: EchoUpstream;
  let database: Database | undefined;
  let key: string;

  /** Hands the test the app's own database, to break the keys table under the running app. */
  const holdDatabase: ServerPlugin = {
    name: 'hold-database',
    dependencies: ['database'],
    onInit(ctx) {
      database = ctx.get('database');
    },
  };
  const rename = async (from: string, to: string) => {
    if (!database?.is('postgresql')) throw new Error('expected PGlite');
    await database.drizzle.execute(sql.raw(`ALTER TABLE "${from}" RENAME TO "${to}"`));
  };

  beforeAll(async () => {
    const issuer = await testIssuer();
    service = await echoUpstream();
    started = await startApp([
      createDatabasePlugin({ url: 'memory://' }),
      holdDatabase,
      createRoutingPlugin({
        routes: [
          { id: 'svc', match: '/svc/*', target: service.url, auth: 'required', health: false },
        ],
      }),
      createAuthPlugin({ providers: [issuer.provider], controlPanel: { adminRoles: ['admin'] } }),
      createApiKeysPlugin(),
    ]);
    const admin = await issuer.token({ sub: 'root', roles: ['admin'] });
    const created = await fetch(`${started.url}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ci', scopes: ['admin:*'] }),
    });
    key = ((await created.json()) as { key: string }).key;
  });
  afterAll(async () => {
    await started?.app.stop();
    await service?.close();
  });

  const call = (path: string) =>
    fetch(`${started.url}${path}`, { headers: { authorization: `Bearer ${key}` } });

  it('answers 503 API_KEYS_UNAVAILABLE (never 401) in both lanes, and takes the key again after', async () => {
    expect((await call('/svc/x')).status).toBe(200);
    await rename(KEYS_TABLE, `${KEYS_TABLE}_away`);
    try {
      for (const path of ['/svc/x', '/api/keys']) {
        const response = await call(path);
        expect(response.status).toBe(503);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
        expect(response.headers.get('retry-after')).toBe('5');
        expect(await response.json()).toMatchObject({ code: 'API_KEYS_UNAVAILABLE' });
      }
    } finally {
      await rename(`${KEYS_TABLE}_away`, KEYS_TABLE);
    }
    expect((await call('/svc/x')).status).toBe(200);
    expect((await call('/api/keys')).status).toBe(200);
    expect(JSON.stringify(started.logs)).not.toContain(key.slice(-43));
  });
});
