import { z } from 'zod';

/** Where the current tenant comes from: one source, so no other part of the request can name it. */
const source = z.union([
  z.strictObject({
    /** A request header (lower case), e.g. `x-tenant-id`. */
    header: z.string().regex(/^[a-z0-9-]{1,64}$/, 'a lower-case header name such as "x-tenant-id"'),
  }),
  z.strictObject({
    /** A route parameter of the routes `requireTenant()` guards, e.g. `tenant` in `/t/:tenant/items`. */
    param: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a route parameter name such as "tenant"'),
  }),
  z.strictObject({
    /** A claim of the verified caller (`req.user.claims`), e.g. `org_id`. */
    claim: z.string().min(1).max(100),
  }),
]);

const roleName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,100}$/, 'a role name: letters, digits and . _ -');

export const tenantsOptionsSchema = z.strictObject({
  /** Where each request names its tenant. Default the header `x-tenant-id`. */
  from: source.default({ header: 'x-tenant-id' }),
  /** Where the admin API lives: `<basePath>`, `<basePath>/:tenant/members[/:userId]`. */
  basePath: z
    .string()
    .regex(/^(\/[a-z0-9_-]+)+$/, 'a path such as /api/tenants (no trailing slash)')
    .default('/api/tenants'),
  /**
   * Roles of the caller's own token that still count inside a tenant (a platform operator's
   * role). Default none: inside a tenant, only the membership's roles count.
   */
  globalRoles: z.array(roleName).default([]),
  /** Most roles one membership may carry. Default 20. */
  maxRolesPerMember: z.number().int().min(1).max(500).default(20),
  /**
   * On a provider without schemas (MySQL/MariaDB, SQLite), `req.tenant.db` is the main database,
   * shared by every tenant: rows are then kept apart only by the product's own `tenant_id`
   * filters. Off by default, so that such an app fails at start-up instead of mixing tenants.
   */
  sharedSchema: z.boolean().default(false),
});

export type TenantsOptions = z.input<typeof tenantsOptionsSchema>;
export type TenantsConfig = z.output<typeof tenantsOptionsSchema>;
export type TenantSource = TenantsConfig['from'];
