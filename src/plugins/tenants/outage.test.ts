import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMBERS_TABLE } from './schema.js';
import { startTenantApp, type TenantApp } from './test-support/tenant-app.js';

describe('tenants when the database fails', () => {
  let started: TenantApp;
  beforeAll(async () => {
    started = await startTenantApp({ url: 'memory://' });
    await started.asAdmin('PUT', '/api/tenants/acme/members/jwt|alice', { roles: ['viewer'] });
  });
  afterAll(() => started?.app.stop());

  /** Takes the memberships table away under the running app, and brings it back. */
  const rename = async (from: string, to: string) => {
    if (!started.db.is('postgresql')) throw new Error('expected PGlite');
    await started.db.drizzle.execute(sql.raw(`ALTER TABLE "${from}" RENAME TO "${to}"`));
  };

  it('answers 503 TENANTS_UNAVAILABLE (never 403) and lets the member in again after', async () => {
    const token = await started.issuer.token({ sub: 'alice' });
    const read = () =>
      fetch(`${started.url}/items`, {
        headers: { authorization: `Bearer ${token}`, 'x-tenant-id': 'acme' },
      });
    expect((await read()).status).toBe(200);
    await rename(MEMBERS_TABLE, `${MEMBERS_TABLE}_away`);
    try {
      const response = await read();
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await response.json()).toMatchObject({ code: 'TENANTS_UNAVAILABLE' });
    } finally {
      await rename(`${MEMBERS_TABLE}_away`, MEMBERS_TABLE);
    }
    expect((await read()).status).toBe(200);
  });
});
