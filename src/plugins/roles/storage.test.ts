import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { TARGETS, removeTempDirs, type Sandbox } from '../../../test/support/databases.js';
import { createRolesPlugin } from './index.js';
import { startApp, user, type StartedApp } from './test-support/roles-app.js';
import { send, startStored } from './test-support/stored.js';

afterAll(removeTempDirs);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sandboxOf(provider: string): Promise<Sandbox> {
  const sandbox = await TARGETS.find((target) => target.provider === provider)!.sandbox();
  cleanups.push(() => sandbox.cleanup());
  return sandbox;
}

async function stored(sandbox: Sandbox, options = {}): Promise<StartedApp> {
  const started = await startStored(sandbox.options, options);
  cleanups.push(() => started.app.stop());
  return started;
}

const available = TARGETS.filter((target) => target.available).map((target) => target.provider);

describe("storage: 'database' without the database plugin", () => {
  it('fails start-up with a ConfigError naming plugins.roles.storage', async () => {
    const failure = await startApp([createRolesPlugin({ storage: 'database' })]).catch(
      (error: unknown) => error,
    );
    const config = [failure, (failure as { cause?: unknown }).cause].find(
      (error) => error instanceof ConfigError,
    );
    expect(config).toBeInstanceOf(ConfigError);
    expect((config as Error).message).toMatch(/plugins\.roles\.storage[\s\S]*createDatabasePlugin/);
  });
});

// PGlite compiles its WASM on each start: on a busy machine that alone takes seconds.
const SLOW = 60_000;

describe.each(available)('stored roles on %s', (provider) => {
  it(
    'creates, replaces and deletes a role, assigns and unassigns it, each deciding at once',
    async () => {
      const { app, url } = await stored(await sandboxOf(provider));
      const roles = app.context.services.get('roles');
      const dana = user('jwt|dana');
      expect(roles.can(dana, 'publish:reports')).toBe(false);

      const created = await send(`${url}/api/roles`, 'POST', {
        name: 'reporter',
        description: 'Writes reports',
        grants: ['publish:reports'],
        inherits: ['viewer'],
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'reporter',
        source: 'database',
        effective: ['publish:reports', 'read:*'],
      });
      const assigned = await send(`${url}/api/roles/assignments`, 'POST', {
        user: 'jwt|dana',
        role: 'reporter',
      });
      expect(assigned.status).toBe(201);
      expect(roles.can(dana, 'publish:reports')).toBe(true);
      expect(roles.can(dana, 'read:anything')).toBe(true);
      // Assigning again changes nothing.
      expect(
        (await send(`${url}/api/roles/assignments`, 'POST', { user: 'jwt|dana', role: 'reporter' }))
          .status,
      ).toBe(200);
      expect((await send(`${url}/api/roles/assignments?user=jwt%7Cdana`, 'GET')).body).toEqual({
        user: 'jwt|dana',
        assignments: [{ user: 'jwt|dana', role: 'reporter', source: 'database' }],
      });

      // The panel's form sends comma-separated text.
      const replaced = await send(`${url}/api/roles/reporter`, 'PUT', {
        grants: 'publish:reports, archive:reports',
      });
      expect(replaced.status).toBe(200);
      expect(replaced.body).toMatchObject({
        inherits: [],
        grants: ['publish:reports', 'archive:reports'],
      });
      expect(roles.can(dana, 'archive:reports')).toBe(true);
      expect(roles.can(dana, 'read:anything')).toBe(false);

      expect((await send(`${url}/api/roles/reporter`, 'DELETE')).body).toMatchObject({
        code: 'ROLES_ROLE_IN_USE',
        assignedTo: ['jwt|dana'],
      });
      const unassigned = await fetch(`${url}/api/roles/assignments/jwt%7Cdana/reporter`, {
        method: 'DELETE',
      });
      expect(unassigned.status).toBe(204);
      expect(roles.can(dana, 'publish:reports')).toBe(false);
      expect((await fetch(`${url}/api/roles/reporter`, { method: 'DELETE' })).status).toBe(204);
      expect(roles.describe().map((role) => role.name)).not.toContain('reporter');
      expect((await send(`${url}/api/roles/reporter`, 'DELETE')).status).toBe(404);
    },
    SLOW,
  );

  it(
    'refuses bad grants, unknown parents and cycles (400 naming the field) and changes to configured roles (409)',
    async () => {
      const { url } = await stored(await sandboxOf(provider), {
        assignments: { 'jwt|erin': ['editor'] },
      });
      const refused = async (method: string, path: string, body: unknown) => {
        const answer = await send(`${url}${path}`, method, body);
        expect(answer.type).toMatch(/application\/problem\+json/);
        return { status: answer.status, ...answer.body };
      };
      expect(
        await refused('POST', '/api/roles', { name: 'bad', grants: ['read:*', 'read'] }),
      ).toMatchObject({ status: 400, code: 'ROLES_INVALID_ROLE', field: 'grants.1' });
      expect(
        await refused('POST', '/api/roles', { name: 'bad', grants: ['read:con*'] }),
      ).toMatchObject({ status: 400, field: 'grants.0' });
      expect(
        await refused('POST', '/api/roles', { name: 'bad', inherits: ['viewer', 'ghost'] }),
      ).toMatchObject({ status: 400, code: 'ROLES_INVALID_ROLE', field: 'inherits.1' });
      expect(await refused('POST', '/api/roles', { name: 'has space' })).toMatchObject({
        status: 400,
        field: 'name',
      });

      expect(
        (await send(`${url}/api/roles`, 'POST', { name: 'alpha', grants: ['read:a'] })).status,
      ).toBe(201);
      expect(
        (await send(`${url}/api/roles`, 'POST', { name: 'beta', inherits: ['alpha'] })).status,
      ).toBe(201);
      const cycle = await refused('PUT', '/api/roles/alpha', { inherits: ['beta'] });
      expect(cycle).toMatchObject({ status: 400, code: 'ROLES_INVALID_ROLE', field: 'inherits' });
      expect(String((cycle as { detail?: unknown }).detail)).toMatch(
        /alpha -> beta -> alpha|beta -> alpha -> beta/,
      );
      expect(await refused('POST', '/api/roles', { name: 'alpha' })).toMatchObject({
        status: 409,
        code: 'ROLES_ROLE_EXISTS',
      });
      expect(await refused('DELETE', '/api/roles/alpha', undefined)).toMatchObject({
        status: 409,
        code: 'ROLES_ROLE_IN_USE',
        inheritedBy: ['beta'],
      });

      // Configured roles and assignments are the read-only base.
      for (const [method, path, body] of [
        ['POST', '/api/roles', { name: 'editor', grants: ['*'] }],
        ['PUT', '/api/roles/viewer', { grants: ['*'] }],
        ['DELETE', '/api/roles/chief', undefined],
        ['DELETE', '/api/roles/assignments/jwt%7Cerin/editor', undefined],
      ] as const)
        expect(await refused(method, path, body)).toMatchObject({
          status: 409,
          code: 'ROLES_CONFIGURED',
        });
      expect(
        await refused('POST', '/api/roles/assignments', { user: 'jwt|erin', role: 'ghost' }),
      ).toMatchObject({ status: 400, code: 'ROLES_INVALID_ASSIGNMENT', field: 'role' });
      expect(
        await refused('DELETE', '/api/roles/assignments/jwt%7Cerin/alpha', undefined),
      ).toMatchObject({ status: 404, code: 'ROLES_ASSIGNMENT_NOT_FOUND' });
      const all = await send(`${url}/api/roles/assignments`, 'GET');
      expect(all.body.assignments).toEqual([
        { user: 'jwt|erin', role: 'editor', source: 'config' },
      ]);
    },
    SLOW,
  );

  it(
    'keeps the stored roles: a new instance on the same database decides with them',
    async () => {
      if (provider === 'pglite') return; // An in-memory PGlite dies with its app.
      const sandbox = await sandboxOf(provider);
      const first = await stored(sandbox);
      await send(`${first.url}/api/roles`, 'POST', { name: 'keeper', grants: ['keep:all'] });
      await send(`${first.url}/api/roles/assignments`, 'POST', { user: 'jwt|kim', role: 'keeper' });
      await first.app.stop();
      const second = await stored(sandbox);
      expect(second.app.context.services.get('roles').can(user('jwt|kim'), 'keep:all')).toBe(true);
    },
    SLOW,
  );
});
