import type { Request } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError } from '../../core/errors.js';
import type { AuthUser } from '../auth/index.js';
import { startTenantApp, type TenantApp } from './test-support/tenant-app.js';

/** The users plugin's claim with a session's product user id (its USER_ID_CLAIM). */
const PRODUCT_USER_CLAIM = 'qwickapps_user_id';

const user = (extra: Partial<AuthUser>): AuthUser => ({
  id: 'jwt|gina',
  provider: 'jwt',
  issuer: 'https://id.test.example',
  subject: 'gina',
  roles: [],
  permissions: [],
  claims: { [PRODUCT_USER_CLAIM]: 'user-42' },
  ...extra,
});

/** What `resolve` reads of a request: the settled user, the headers, the route's params. */
const requestOf = (caller: AuthUser, tenant: string) =>
  ({ user: caller, headers: { 'x-tenant-id': tenant }, params: {} }) as unknown as Request;

describe("the tenants service's resolve", () => {
  let started: TenantApp;
  beforeAll(async () => {
    started = await startTenantApp({ url: 'memory://' });
    // The membership names the product user, as the users API lists it.
    await started.asAdmin('PUT', '/api/tenants/acme/members/user-42', { roles: ['editor'] });
  });
  afterAll(() => started?.app.stop());

  it("matches a session's product user id to a membership, with the tenant's database", async () => {
    const tenants = started.app.context.services.get('tenants');
    const { tenant, user: scoped } = await tenants.resolve(
      requestOf(user({ sessionId: 'session-1' }), 'acme'),
    );
    expect(tenant.id).toBe('acme');
    expect(tenant.roles).toEqual(['editor']);
    expect(tenant.db.schema).toBe('tenant_acme');
    expect(scoped.id).toBe('jwt|gina');
    expect(scoped.roles).toEqual(['editor']);
  });

  it("ignores that claim on a bearer token: it is the provider's, not the product's", async () => {
    const tenants = started.app.context.services.get('tenants');
    const failure = await tenants
      .resolve(requestOf(user({}), 'acme'))
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HttpError);
    expect((failure as HttpError).code).toBe('TENANTS_NOT_A_MEMBER');
  });
});
