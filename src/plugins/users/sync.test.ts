import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseOptions } from '../database/index.js';
import type { UsersOptions } from './index.js';
import {
  startAuth0StandIn,
  startSupabaseAdminStandIn,
  type Auth0StandIn,
  type Auth0User,
  type SeenRequest,
  type SupabaseAdminStandIn,
  type SupabaseUser,
} from './test-support/provider-standins.js';
import {
  call,
  startUsersApp,
  uniqueTable,
  USERS_TARGETS,
  type UsersTarget,
} from './test-support/users-app.js';
import { SERVICES } from '../../../test/support/services.js';

const FIELDS = { email: { unique: true }, name: {}, avatar: { type: 'url' as const } };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Sync = NonNullable<UsersOptions['sync']>;

/** An app with provider sync on the target's database; `database` to start a second instance. */
async function syncApp(
  target: UsersTarget,
  sync: Sync,
  shared?: { table: string; database: DatabaseOptions },
) {
  const table = shared?.table ?? uniqueTable();
  let database = shared?.database;
  if (!database) {
    const opened = await target.open(table);
    cleanups.push(() => opened.cleanup());
    database = opened.options;
  }
  const { app, url } = await startUsersApp({ database, users: { table, fields: FIELDS, sync } });
  cleanups.push(() => app.stop());
  return { app, api: `${url}/api/users`, table, database };
}

async function auth0(users: Auth0User[]): Promise<Auth0StandIn> {
  const standIn = await startAuth0StandIn(users);
  cleanups.push(() => standIn.close());
  return standIn;
}

const auth0Sync = (
  standIn: Auth0StandIn,
  extra: Partial<Extract<Sync, { provider: 'auth0' }>> = {},
): Sync => ({
  provider: 'auth0',
  domain: standIn.domain,
  clientId: standIn.clientId,
  clientSecret: standIn.clientSecret,
  managementUrl: standIn.url,
  exportPollInterval: 20,
  ...extra,
});

async function supabase(users: SupabaseUser[]): Promise<SupabaseAdminStandIn> {
  const standIn = await startSupabaseAdminStandIn(users);
  cleanups.push(() => standIn.close());
  return standIn;
}

const supabaseSync = (
  standIn: SupabaseAdminStandIn,
  extra: Partial<Extract<Sync, { provider: 'supabase' }>> = {},
): Sync => ({
  provider: 'supabase',
  url: standIn.url,
  serviceRoleKey: standIn.serviceRoleKey,
  ...extra,
});

const supabaseUsers = (count: number, prefix = 's'): SupabaseUser[] =>
  Array.from({ length: count }, (_, index) => ({
    id: `${prefix}${index}`,
    email: `${prefix}${index}@example.com`,
  }));

const auth0Users = (count: number, prefix = 'u'): Auth0User[] =>
  Array.from({ length: count }, (_, index) => ({
    user_id: `auth0|${prefix}${index}`,
    email: `${prefix}${index}@example.com`,
    name: `User ${index}`,
    picture: `https://example.com/${prefix}${index}.png`,
  }));

const requests = (seen: SeenRequest[], path: string) =>
  seen.filter((request) => request.path === path);
const pagesOf = (seen: SeenRequest[], path: string) =>
  requests(seen, path).map((request) => Number(request.query.get('page')));

const ZERO = { created: 0, updated: 0, disabled: 0, failed: 0 };

async function userByEmail(api: string, email: string) {
  const found = (await call(`${api}?q=${encodeURIComponent(email)}`, 'GET')).body as {
    users: Record<string, string>[];
  };
  return found.users[0];
}

// PGlite starts slowly and writes slowly on a loaded machine: each case has two minutes.
describe.each(USERS_TARGETS)('provider sync on $provider', (target) => {
  describe.skipIf(!target.available)(target.provider, { timeout: 120_000 }, () => {
    it("pages Auth0's users 100 a page, keyed by issuer and subject, blocked ones disabled; a second run changes nothing", async () => {
      const users = auth0Users(150);
      users[3].blocked = true;
      const standIn = await auth0(users);
      const { api } = await syncApp(target, auth0Sync(standIn));

      const first = await call(`${api}/sync`, 'POST');
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body).toMatchObject({
        provider: 'auth0',
        status: 'completed',
        created: 150,
        updated: 0,
        disabled: 0,
        unchanged: 0,
        failed: 0,
      });
      expect(pagesOf(standIn.seen, '/api/v2/users')).toEqual([0, 1]);
      for (const request of requests(standIn.seen, '/api/v2/users')) {
        expect(request.query.get('per_page')).toBe('100');
        expect(request.query.get('include_totals')).toBe('true');
      }
      const user = await userByEmail(api, 'u7@example.com');
      expect(user).toMatchObject({
        name: 'User 7',
        avatar: 'https://example.com/u7.png',
        status: 'active',
      });
      const detail = await call(`${api}/${user.id}`, 'GET');
      expect(detail.body.identities).toEqual([
        expect.objectContaining({ issuer: `https://${standIn.domain}/`, subject: 'auth0|u7' }),
      ]);
      expect((await userByEmail(api, 'u3@example.com')).status).toBe('disabled');

      const second = await call(`${api}/sync`, 'POST');
      expect(second.body).toMatchObject({ ...ZERO, unchanged: 150, status: 'completed' });
      // The Management API token is cached until it expires.
      expect(requests(standIn.seen, '/oauth/token')).toHaveLength(1);

      users[1].name = 'Renamed';
      users[2].blocked = true;
      const third = await call(`${api}/sync`, 'POST');
      expect(third.body).toMatchObject({ ...ZERO, updated: 1, disabled: 1, unchanged: 148 });
      expect((await userByEmail(api, 'u1@example.com')).name).toBe('Renamed');
      expect((await userByEmail(api, 'u2@example.com')).status).toBe('disabled');

      const last = await call(`${api}/sync`, 'GET');
      expect(last.body).toMatchObject({
        running: false,
        report: { status: 'completed', updated: 1, disabled: 1 },
      });
    });

    // Over a thousand users make this the slowest case: run on the embedded and one server database.
    // Registered only where it runs, so no provider reports it skipped.
    const onLargeProviders = target.provider === 'pglite' || target.provider === 'postgres';
    if (onLargeProviders)
      it('reads past 1,000 Auth0 users through a users-export job, its file fetched without our token', async () => {
        const standIn = await auth0(auth0Users(1_005, 'x'));
        const { api } = await syncApp(target, auth0Sync(standIn));
        const answer = await call(`${api}/sync`, 'POST');
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ ...ZERO, created: 1_005, status: 'completed' });
        // The first page says how many there are; paging stops there, the export takes over.
        expect(pagesOf(standIn.seen, '/api/v2/users')).toEqual([0]);
        expect(requests(standIn.seen, '/api/v2/jobs/users-exports')).toHaveLength(1);
        const polls = standIn.seen.filter((request) =>
          request.path.startsWith('/api/v2/jobs/job_'),
        );
        expect(polls).toHaveLength(standIn.pendingPolls + 1);
        const download = standIn.seen.filter((request) => request.path.startsWith('/exports/'));
        expect(download).toHaveLength(1);
        expect(download[0].headers.authorization).toBeUndefined();
        expect(await userByEmail(api, 'x1004@example.com')).toMatchObject({ name: 'User 1004' });
        const again = await call(`${api}/sync`, 'POST');
        expect(again.body).toMatchObject({ ...ZERO, unchanged: 1_005 });
      }, 180_000);

    it('waits out a 429 for its Retry-After, and never longer than maxRetryAfter', async () => {
      const standIn = await supabase(supabaseUsers(6, 'r'));
      const path = '/auth/v1/admin/users';
      standIn.script({ path, page: 2, status: 429, headers: { 'retry-after': '1' }, times: 1 });
      standIn.script({ path, page: 3, status: 429, headers: { 'retry-after': '3600' }, times: 1 });
      const { api } = await syncApp(
        target,
        supabaseSync(standIn, { perPage: 2, maxRetryAfter: 1_500 }),
      );
      const answer = await call(`${api}/sync`, 'POST');
      expect(answer.body).toMatchObject({ ...ZERO, created: 6, status: 'completed' });
      const pages = requests(standIn.seen, path);
      expect(pages.map((request) => Number(request.query.get('page')))).toEqual([1, 2, 2, 3, 3]);
      const gap = (index: number) => pages[index + 1].at - pages[index].at;
      expect(gap(1)).toBeGreaterThanOrEqual(950);
      expect(gap(3)).toBeGreaterThanOrEqual(1_450);
      expect(gap(3)).toBeLessThan(3_000);
    });

    it('stops, resumable, when the provider keeps answering 429 past maxRetries', async () => {
      const standIn = await supabase(supabaseUsers(4, 'q'));
      const path = '/auth/v1/admin/users';
      standIn.script({ path, page: 2, status: 429, headers: { 'retry-after': '0' }, times: 3 });
      const { api } = await syncApp(target, supabaseSync(standIn, { perPage: 2, maxRetries: 2 }));
      const stopped = await call(`${api}/sync`, 'POST');
      expect(stopped.status).toBe(502);
      expect(stopped.body).toMatchObject({
        code: 'USERS_SYNC_FAILED',
        report: { created: 2, error: expect.stringContaining('429 after 2 retries') },
      });
      expect(pagesOf(standIn.seen, path)).toEqual([1, 2, 2, 2]);
      const resumed = await call(`${api}/sync`, 'POST');
      expect(resumed.body).toMatchObject({ status: 'completed', created: 4, resumedFrom: 2 });
    });

    it('copies Supabase users by page with the service-role key, banned ones disabled, bad ones counted as failed', async () => {
      const future = new Date(Date.now() + 86_400_000).toISOString();
      const past = new Date(Date.now() - 86_400_000).toISOString();
      const standIn = await supabase([
        {
          id: 'a1',
          email: 'ada@example.com',
          user_metadata: { full_name: 'Ada', avatar_url: 'https://example.com/ada.png' },
        },
        { id: 'b2', email: 'bob@example.com', banned_until: future },
        { id: 'c3', email: 'cy@example.com', banned_until: past },
        { id: 'd4', email: 'not-an-email' },
        { id: 'e5', email: 'ada@example.com' },
      ]);
      const { api } = await syncApp(target, supabaseSync(standIn, { perPage: 2 }));
      const answer = await call(`${api}/sync`, 'POST');
      expect(answer.status).toBe(200);
      // A bad email and a taken one fail alone; the sync goes on.
      expect(answer.body).toMatchObject({ created: 3, failed: 2, status: 'completed' });
      expect(pagesOf(standIn.seen, '/auth/v1/admin/users')).toEqual([1, 2, 3]);
      expect(standIn.seen[0].query.get('per_page')).toBe('2');
      const ada = await userByEmail(api, 'ada@example.com');
      expect(ada).toMatchObject({ name: 'Ada', avatar: 'https://example.com/ada.png' });
      expect((await call(`${api}/${ada.id}`, 'GET')).body.identities).toEqual([
        expect.objectContaining({ issuer: `${standIn.url}/auth/v1`, subject: 'a1' }),
      ]);
      expect((await userByEmail(api, 'bob@example.com')).status).toBe('disabled');
      expect((await userByEmail(api, 'cy@example.com')).status).toBe('active');
      const again = await call(`${api}/sync`, 'POST');
      expect(again.body).toMatchObject({ created: 0, updated: 0, disabled: 0, unchanged: 3 });
    });

    it('continues a sync that failed midway from the page it stopped at', async () => {
      const standIn = await supabase(supabaseUsers(35));
      standIn.script({ path: '/auth/v1/admin/users', page: 3, status: 500, times: 1 });
      const { api } = await syncApp(target, supabaseSync(standIn, { perPage: 10 }));
      const failed = await call(`${api}/sync`, 'POST');
      expect(failed.status).toBe(502);
      expect(failed.type).toMatch(/application\/problem\+json/);
      expect(failed.body).toMatchObject({
        code: 'USERS_SYNC_FAILED',
        report: { status: 'failed', created: 20 },
      });
      expect((await call(`${api}/sync`, 'GET')).body).toMatchObject({
        running: false,
        report: { status: 'failed', error: expect.stringContaining('500') },
      });
      const before = standIn.seen.length;
      const resumed = await call(`${api}/sync`, 'POST');
      expect(resumed.status).toBe(200);
      expect(resumed.body).toMatchObject({ status: 'completed', created: 35, resumedFrom: 3 });
      expect(pagesOf(standIn.seen.slice(before), '/auth/v1/admin/users')).toEqual([3, 4]);
      // Once completed, the next sync starts from the first page again.
      const next = standIn.seen.length;
      expect((await call(`${api}/sync`, 'POST')).body).toMatchObject({ unchanged: 35 });
      expect(pagesOf(standIn.seen.slice(next), '/auth/v1/admin/users')).toEqual([1, 2, 3, 4]);
    });

    const onServers = target.provider === 'postgres' || target.provider === 'mysql';
    if (onServers)
      it('runs one sync at a time across two instances on one database: the other gets a 409', async () => {
        const standIn = await supabase(supabaseUsers(15, 'p'));
        standIn.delayMs = 150;
        const first = await syncApp(target, supabaseSync(standIn, { perPage: 5 }));
        const second = await syncApp(target, supabaseSync(standIn, { perPage: 5 }), first);
        const answers = await Promise.all([
          call(`${first.api}/sync`, 'POST'),
          call(`${second.api}/sync`, 'POST'),
        ]);
        expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
        const refused = answers.find((answer) => answer.status === 409)!;
        expect(refused.type).toMatch(/application\/problem\+json/);
        expect(refused.body.code).toBe('USERS_SYNC_RUNNING');
        expect(pagesOf(standIn.seen, '/auth/v1/admin/users')).toEqual([1, 2, 3]);
        // The lock is free again, and the other instance finds nothing left to do.
        standIn.delayMs = 0;
        expect((await call(`${second.api}/sync`, 'POST')).body).toMatchObject({
          ...ZERO,
          unchanged: 15,
        });
      });
  });
});

const postgres = USERS_TARGETS.find((target) => target.provider === 'postgres')!;

/** Runs SQL against the test PostgreSQL server. */
async function pgQuery(text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: SERVICES.postgres.url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

describe.skipIf(!postgres.available)('provider sync across instances on PostgreSQL', () => {
  it('an instance stopped mid-sync saves its page and frees the lock; another continues from it', async () => {
    const standIn = await supabase(supabaseUsers(30, 'h'));
    standIn.delayMs = 150;
    // Started by the timer: a sync a request started is one the app drains before it stops.
    const first = await syncApp(postgres, supabaseSync(standIn, { perPage: 5, interval: 1_000 }));
    const second = await syncApp(postgres, supabaseSync(standIn, { perPage: 5 }), first);
    while (pagesOf(standIn.seen, '/auth/v1/admin/users').length < 3)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await first.app.stop();
    const stoppedAt = pagesOf(standIn.seen, '/auth/v1/admin/users').at(-1)!;
    const [row] = await pgQuery(`SELECT holder, report FROM "${first.table}_sync"`);
    expect(row.holder).toBeNull();
    expect(JSON.parse(String(row.report))).toMatchObject({ status: 'stopped' });
    standIn.delayMs = 0;
    const before = standIn.seen.length;
    const resumed = await call(`${second.api}/sync`, 'POST');
    expect(resumed.body).toMatchObject({
      status: 'completed',
      created: 30,
      resumedFrom: stoppedAt,
    });
    expect(pagesOf(standIn.seen.slice(before), '/auth/v1/admin/users')[0]).toBe(stoppedAt);
  }, 60_000);

  it("takes over a lock whose holder's lease expired (it died), and refuses one still held", async () => {
    const standIn = await supabase(supabaseUsers(3, 'l'));
    const { api, table } = await syncApp(postgres, supabaseSync(standIn));
    await pgQuery(`UPDATE "${table}_sync" SET holder = 'alive-elsewhere', lock_expires_at = $1`, [
      Date.now() + 60_000,
    ]);
    const held = await call(`${api}/sync`, 'POST');
    expect(held.status).toBe(409);
    expect(held.body.code).toBe('USERS_SYNC_RUNNING');
    expect((await call(`${api}/sync`, 'GET')).body).toMatchObject({ running: true });
    expect(standIn.seen).toHaveLength(0);
    await pgQuery(`UPDATE "${table}_sync" SET holder = 'died', lock_expires_at = $1`, [
      Date.now() - 1,
    ]);
    const taken = await call(`${api}/sync`, 'POST');
    expect(taken.status).toBe(200);
    expect(taken.body).toMatchObject({ created: 3 });
  });
});

describe('provider sync on a timer', () => {
  it('runs every interval, and no more once the app stopped', async () => {
    const standIn = await auth0(auth0Users(5, 't'));
    const { app, api } = await syncApp(USERS_TARGETS[0], auth0Sync(standIn, { interval: 1_000 }));
    let report: Record<string, unknown> | null = null;
    for (let waited = 0; !report && waited < 5_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      report = (await call(`${api}/sync`, 'GET')).body.report as Record<string, unknown> | null;
    }
    expect(report).toMatchObject({ status: 'completed', created: 5 });
    await app.stop();
    const after = standIn.seen.length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(standIn.seen.length).toBe(after);
  }, 60_000);
});
