import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../index.js';
import { call, startUsersApp, uniqueTable, USERS_TARGETS } from './test-support/users-app.js';

const FIELDS = {
  email: { required: true, unique: true },
  name: { required: true, maxLength: 40 },
  avatar: { type: 'url' as const },
  handle: { unique: true, maxLength: 30 },
};

type Page = { users: { id: string; email: string; name: string }[]; nextCursor?: string };

describe.each(USERS_TARGETS)('users on $provider', (target) => {
  describe.skipIf(!target.available)(target.provider, () => {
    const table = uniqueTable();
    let app: App;
    let api: string;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      const opened = await target.open(table);
      cleanup = opened.cleanup;
      const started = await startUsersApp({
        database: opened.options,
        users: { storage: 'database', table, fields: FIELDS },
      });
      app = started.app;
      api = `${started.url}/api/users`;
    });
    afterAll(async () => {
      await app?.stop();
      await cleanup?.();
    });

    it('creates, reads, updates, disables, enables and deletes a user', async () => {
      const created = await call(api, 'POST', {
        email: ' Ada@Example.com ',
        name: 'Ada',
        avatar: 'https://example.com/ada.png',
      });
      expect(created.status).toBe(201);
      const id = String(created.body.id);
      expect(created.body).toMatchObject({
        email: 'ada@example.com',
        name: 'Ada',
        avatar: 'https://example.com/ada.png',
        status: 'active',
      });
      expect(created.body).not.toHaveProperty('handle');

      const read = await call(`${api}/${id}`, 'GET');
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ id, email: 'ada@example.com', identities: [] });

      const patched = await call(`${api}/${id}`, 'PATCH', { name: 'Ada L.', avatar: null });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ id, email: 'ada@example.com', name: 'Ada L.' });
      expect(patched.body).not.toHaveProperty('avatar');

      const disabled = await call(`${api}/${id}/disable`, 'POST');
      expect(disabled.body).toMatchObject({ status: 'disabled', disabledAt: expect.any(String) });
      expect((await call(`${api}/${id}`, 'GET')).body.status).toBe('disabled');
      expect((await call(`${api}/${id}/enable`, 'POST')).body.status).toBe('active');

      expect((await call(`${api}/${id}`, 'DELETE')).status).toBe(204);
      const gone = await call(`${api}/${id}`, 'GET');
      expect(gone.status).toBe(404);
      expect(gone.body.code).toBe('USERS_NOT_FOUND');
      // Deleting freed the unique email for someone else.
      expect((await call(api, 'POST', { email: 'ada@example.com', name: 'Ada 2' })).status).toBe(
        201,
      );
    });

    it('answers bad fields with a 400 problem naming the field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ name: 'No Email' }, 'email'],
        [{ email: 'not-an-email', name: 'X' }, 'email'],
        [{ email: 'x@example.com' }, 'name'],
        [{ email: 'x@example.com', name: 'x'.repeat(41) }, 'name'],
        [{ email: 'x@example.com', name: 'X', avatar: 'javascript:alert(1)' }, 'avatar'],
        [{ email: 'x@example.com', name: 'X', avatar: 42 }, 'avatar'],
        [{ email: 'x@example.com', name: 'X', role: 'admin' }, 'role'],
      ];
      for (const [body, field] of cases) {
        const answer = await call(api, 'POST', body);
        expect(answer.status, JSON.stringify(body)).toBe(400);
        expect(answer.type).toMatch(/application\/problem\+json/);
        expect(answer.body).toMatchObject({ code: 'USERS_FIELD_INVALID', field });
        expect(String(answer.body.detail)).toContain(field);
      }
      const created = await call(api, 'POST', { email: 'valid@example.com', name: 'Valid' });
      const patch = await call(`${api}/${String(created.body.id)}`, 'PATCH', { name: null });
      expect(patch.body).toMatchObject({ code: 'USERS_FIELD_INVALID', field: 'name' });
    });

    it('answers a taken unique value with a 409 naming the field, on create and on update', async () => {
      await call(api, 'POST', { email: 'taken@example.com', name: 'First', handle: 'first' });
      const sameEmail = await call(api, 'POST', { email: 'TAKEN@example.com', name: 'Second' });
      expect(sameEmail.status).toBe(409);
      expect(sameEmail.type).toMatch(/application\/problem\+json/);
      expect(sameEmail.body).toMatchObject({ code: 'USERS_FIELD_TAKEN', field: 'email' });
      const other = await call(api, 'POST', { email: 'other@example.com', name: 'Other' });
      const sameHandle = await call(`${api}/${String(other.body.id)}`, 'PATCH', {
        handle: 'first',
      });
      expect(sameHandle.status).toBe(409);
      expect(sameHandle.body).toMatchObject({ code: 'USERS_FIELD_TAKEN', field: 'handle' });
      // The failed update changed nothing.
      expect((await call(`${api}/${String(other.body.id)}`, 'GET')).body).not.toHaveProperty(
        'handle',
      );
    });

    it('keeps a unique field unique under concurrent creates: one 201, the rest 409', async () => {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, index) =>
          call(api, 'POST', { email: 'race@example.com', name: `Racer ${index}` }),
        ),
      );
      expect(answers.map((answer) => answer.status).sort()).toEqual([
        201, 409, 409, 409, 409, 409, 409, 409,
      ]);
      const found = (await call(`${api}?q=race@example.com`, 'GET')).body as Page;
      expect(found.users).toHaveLength(1);
    });

    it('pages through every user exactly once under each sort and order', async () => {
      const names = ['delta', 'alpha', 'Charlie', 'bravo', 'echo', 'alpha', 'foxtrot'];
      for (const [index, name] of names.entries())
        await call(api, 'POST', { email: `page${index}@paging.test`, name });
      for (const sort of ['createdAt', 'email', 'name'])
        for (const order of ['asc', 'desc']) {
          const seen: string[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const query = new URLSearchParams({ q: 'paging.test', limit: '3', sort, order });
            if (cursor) query.set('cursor', cursor);
            const page = await call(`${api}?${query}`, 'GET');
            expect(page.status).toBe(200);
            const body = page.body as Page;
            expect(body.users.length).toBeLessThanOrEqual(3);
            seen.push(...body.users.map((user) => user.id));
            cursor = body.nextCursor;
            pages++;
          } while (cursor && pages < 10);
          expect(seen, `${sort} ${order}`).toHaveLength(names.length);
          expect(new Set(seen).size).toBe(names.length);
          if (sort === 'email') {
            const all = (await call(`${api}?q=paging.test&sort=email&order=${order}`, 'GET'))
              .body as Page;
            expect(all.users.map((user) => user.id)).toEqual(seen);
            const emails = all.users.map((user) => user.email);
            const sorted = [...emails].sort();
            expect(emails).toEqual(order === 'asc' ? sorted : sorted.reverse());
          }
        }
    });

    it('refuses a malformed query or a cursor of another sort with a 400', async () => {
      for (const query of ['limit=0', 'limit=101', 'limit=x', 'sort=password', 'order=up'])
        expect((await call(`${api}?${query}`, 'GET')).body.code, query).toBe('USERS_INVALID_QUERY');
      const first = (await call(`${api}?limit=1&sort=email`, 'GET')).body as Page;
      expect(first.nextCursor).toEqual(expect.any(String));
      const mixed = await call(`${api}?limit=1&sort=name&cursor=${first.nextCursor}`, 'GET');
      expect(mixed.status).toBe(400);
      expect((await call(`${api}?cursor=garbage`, 'GET')).status).toBe(400);
    });

    it('searches email and name, case-insensitively, with % and _ taken literally', async () => {
      await call(api, 'POST', { email: 'grace@navy.test', name: 'Grace Hopper' });
      await call(api, 'POST', { email: 'linus@kernel.test', name: 'Linus_T' });
      // "s t" matches the pattern s_t only if "_" were a wildcard.
      await call(api, 'POST', { email: 'bess@wild.test', name: 'Bess Taylor' });
      const byName = (await call(`${api}?q=HOPPER`, 'GET')).body as Page;
      expect(byName.users.map((user) => user.email)).toEqual(['grace@navy.test']);
      const byEmail = (await call(`${api}?q=kernel.te`, 'GET')).body as Page;
      expect(byEmail.users.map((user) => user.name)).toEqual(['Linus_T']);
      const literal = (await call(`${api}?q=s_t`, 'GET')).body as Page;
      expect(literal.users.map((user) => user.name)).toEqual(['Linus_T']);
      expect(((await call(`${api}?q=%25`, 'GET')).body as Page).users).toEqual([]);
    });
  });
});
