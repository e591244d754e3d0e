import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UIView } from '../../core/ui.js';
import { startTenantApp, type TenantApp } from './test-support/tenant-app.js';
import { tenantsPanel } from './panel.js';

const table = tenantsPanel('/api/tenants').pages![0].views.find(
  (view) => view.kind === 'table',
) as Extract<UIView, { kind: 'table' }>;

describe('the Tenants page', () => {
  let started: TenantApp;
  beforeAll(async () => {
    started = await startTenantApp({ url: 'memory://' });
  });
  afterAll(() => started?.app.stop());

  it('reads the endpoint that lists tenants, with the columns it shows', async () => {
    await started.asAdmin('PUT', '/api/tenants/acme/members/jwt|alice', { roles: ['viewer'] });
    const answer = (await (await started.asAdmin('GET', table.endpoint)).json()) as Record<
      string,
      Record<string, unknown>[]
    >;
    const rows = answer[table.rowsPath!];
    expect(rows).toEqual([{ tenantId: 'acme', members: 1 }]);
    for (const column of table.columns) expect(rows[0]).toHaveProperty(column.key);
  });
});
