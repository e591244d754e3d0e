import { afterEach, describe, expect, it } from 'vitest';
import { json } from '../../../test/support/http.js';
import { createApp } from '../../index.js';
import { ConfigError } from '../../core/errors.js';
import { createRolesPlugin } from './index.js';
import type { RolesOptions } from './options.js';
import { EDITORIAL, startApp, user, type StartedApp } from './test-support/roles-app.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function started(options: RolesOptions = EDITORIAL): Promise<StartedApp> {
  const app = await startApp([createRolesPlugin(options)]);
  cleanups.push(() => app.app.stop());
  return app;
}

/** Start-up's ConfigError message for these options. */
/** Start-up's ConfigError message for these options (createApp validates before it starts). */
function startFailure(options: RolesOptions): string {
  let failure: unknown;
  try {
    createApp({
      name: 'roles-bad',
      port: 0,
      logger: { level: 'silent', stdout: false },
      plugins: [createRolesPlugin(options)],
    });
  } catch (error) {
    failure = error;
  }
  expect(failure).toBeInstanceOf(ConfigError);
  return (failure as Error).message;
}

describe('permissions with wildcards', () => {
  it('matches `*` on the resource side, on the action side, and alone', async () => {
    const { app } = await started();
    const roles = app.context.services.get('roles');
    const viewer = user('jwt|v', ['viewer']);
    expect(roles.can(viewer, 'read:content')).toBe(true);
    expect(roles.can(viewer, 'read:anything')).toBe(true);
    expect(roles.can(viewer, 'write:content')).toBe(false);
    const auditor = user('jwt|a', ['auditor']);
    expect(roles.can(auditor, 'read:logs')).toBe(true);
    expect(roles.can(auditor, 'purge:logs')).toBe(true);
    expect(roles.can(auditor, 'read:content')).toBe(false);
    const admin = user('jwt|root', ['admin']);
    for (const permission of ['read:x', 'delete:content', '*:logs', 'read:*', '*'])
      expect(roles.can(admin, permission)).toBe(true);
    // A requested wildcard is read literally: read on everything is not read on content.
    expect(roles.can(user('jwt|r', [], ['read:content']), 'read:*')).toBe(false);
    expect(roles.can(viewer, '*')).toBe(false);
    // Malformed permissions are never granted, not even by `*`.
    expect(roles.can(admin, 'read')).toBe(false);
    expect(roles.can(admin, ':content')).toBe(false);
  });

  it("counts a user's own permissions, wildcards included, and ignores roles nothing defines", async () => {
    const { app } = await started();
    const roles = app.context.services.get('roles');
    expect(roles.can(user('jwt|d', ['ghost'], ['export:reports']), 'export:reports')).toBe(true);
    expect(roles.can(user('jwt|d', ['ghost'], ['export:*']), 'export:users')).toBe(true);
    expect(roles.can(user('jwt|d', ['ghost'], ['export:*']), 'import:users')).toBe(false);
    const decision = roles.explain(user('jwt|d', ['ghost', 'viewer']), 'read:x');
    expect(decision.unknownRoles).toEqual(['ghost']);
    const direct = roles.explain(user('jwt|d', [], ['export:users', 'export:*']), 'export:users');
    expect(direct.grant).toEqual({ source: 'user', pattern: 'export:users' });
    // The grant that decided is not among the grants "near" it.
    expect(direct.closest).toEqual([{ source: 'user', pattern: 'export:*' }]);
  });

  it('gives assigned roles to a user id, beside the roles of its token', async () => {
    const { app, url } = await started({ ...EDITORIAL, assignments: { 'jwt|alice': ['editor'] } });
    const roles = app.context.services.get('roles');
    expect(roles.can(user('jwt|alice'), 'write:content')).toBe(true);
    expect(roles.can(user('jwt|bob'), 'write:content')).toBe(false);
    const response = await fetch(
      `${url}/api/roles/explain?user=${encodeURIComponent('jwt|alice')}&permission=read:content`,
    );
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.decision).toMatchObject({
      allowed: true,
      grant: { role: 'viewer', pattern: 'read:*', via: ['editor', 'viewer'] },
    });
  });
});

describe('nested resources', () => {
  const DEPLOYS: RolesOptions = {
    permissions: {
      deployer: ['traffic:deploy'],
      'api-deployer': ['traffic:deploy:api'],
      'eu-deployer': ['traffic:deploy:*'],
      operator: ['traffic:*'],
      'by-resource': ['*:deploy'],
    },
  };

  it('lets a grant cover what is beneath its resource, by role, by assignment and directly', async () => {
    const { app } = await started({ ...DEPLOYS, assignments: { 'jwt|ci': ['api-deployer'] } });
    const roles = app.context.services.get('roles');
    const deployer = user('jwt|d', ['deployer']);
    expect(roles.can(deployer, 'traffic:deploy')).toBe(true);
    expect(roles.can(deployer, 'traffic:deploy:api')).toBe(true);
    expect(roles.can(deployer, 'traffic:deploy:api:eu')).toBe(true);
    expect(roles.can(deployer, 'traffic:deployer')).toBe(false);
    expect(roles.can(deployer, 'traffic:promote:api')).toBe(false);
    const apiOnly = user('jwt|a', ['api-deployer']);
    expect(roles.can(apiOnly, 'traffic:deploy:api')).toBe(true);
    expect(roles.can(apiOnly, 'traffic:deploy:web')).toBe(false);
    expect(roles.can(apiOnly, 'traffic:deploy')).toBe(false);
    expect(roles.canPartly(apiOnly, 'traffic:deploy')).toBe(true);
    expect(roles.canPartly(apiOnly, 'traffic:promote')).toBe(false);
    expect(roles.can(user('jwt|ci'), 'traffic:deploy:api')).toBe(true);
    expect(roles.can(user('jwt|ci'), 'traffic:deploy:web')).toBe(false);
    const beneath = user('jwt|e', ['eu-deployer']);
    expect(roles.can(beneath, 'traffic:deploy:api')).toBe(true);
    expect(roles.can(beneath, 'traffic:deploy')).toBe(false);
    expect(roles.can(user('jwt|o', ['operator']), 'traffic:deploy:api')).toBe(true);
    expect(roles.can(user('jwt|r', ['by-resource']), 'traffic:deploy:web')).toBe(true);
    const direct = user('jwt|k', [], ['traffic:deploy:api']);
    expect(roles.can(direct, 'traffic:deploy:api')).toBe(true);
    expect(roles.can(direct, 'traffic:deploy:web')).toBe(false);
    expect(roles.can(user('jwt|k', [], ['traffic:deploy']), 'traffic:deploy:web')).toBe(true);
    expect(roles.explain(deployer, 'traffic:deploy:api').grant).toMatchObject({
      role: 'deployer',
      pattern: 'traffic:deploy',
    });
  });

  it('decides the same with the abac model', async () => {
    const { app } = await started({ ...DEPLOYS, model: 'abac' });
    const roles = app.context.services.get('roles');
    expect(roles.can(user('jwt|d', ['deployer']), 'traffic:deploy:api')).toBe(true);
    expect(roles.can(user('jwt|a', ['api-deployer']), 'traffic:deploy:web')).toBe(false);
    expect(roles.can(user('jwt|e', ['eu-deployer']), 'traffic:deploy:api')).toBe(true);
    expect(roles.can(user('jwt|e', ['eu-deployer']), 'traffic:deploy')).toBe(false);
    expect(roles.explain(user('jwt|d', ['deployer']), 'traffic:deploy:api')).toMatchObject({
      allowed: true,
      grant: { role: 'deployer', pattern: 'traffic:deploy' },
    });
  });
});

describe('inheritance', () => {
  it('grants through several levels, naming the path', async () => {
    const { app } = await started();
    const roles = app.context.services.get('roles');
    const chief = user('jwt|c', ['chief']);
    expect(roles.can(chief, 'delete:content')).toBe(true);
    expect(roles.can(chief, 'write:content')).toBe(true);
    expect(roles.can(chief, 'read:budget')).toBe(true);
    expect(roles.can(user('jwt|e', ['editor']), 'delete:content')).toBe(false);
    const decision = roles.explain(chief, 'read:budget');
    expect(decision.grant).toEqual({
      role: 'viewer',
      via: ['chief', 'editor', 'viewer'],
      source: 'role',
      pattern: 'read:*',
    });
    expect(decision.rolesConsidered).toEqual(['chief', 'editor', 'viewer']);
  });

  it('refuses a cycle at start-up, naming it', () => {
    const message = startFailure({
      permissions: { a: ['read:a'], b: ['read:b'], c: ['read:c'] },
      roles: { a: { inherits: ['b'] }, b: { inherits: ['c'] }, c: { inherits: ['a'] } },
    });
    expect(message).toContain('plugins.roles.roles.a.inherits');
    expect(message).toContain('a -> b -> c -> a');
  });

  it('refuses unknown roles, partial wildcards and conditions without abac, each named', () => {
    const message = startFailure({
      permissions: {
        editor: ['read:con*', { permission: 'update:post', conditions: { authorId: 'x' } }],
      },
      roles: { editor: { inherits: ['writer'] } },
      assignments: { 'jwt|a': ['nobody'] },
    });
    expect(message).toContain('plugins.roles.permissions.editor.0');
    expect(message).toContain('plugins.roles.permissions.editor.1');
    expect(message).toContain('"writer" is neither');
    expect(message).toContain('plugins.roles.assignments.jwt|a.0');
  });
});

describe('explanations', () => {
  it('names the grant, and the grants nearest a refusal', async () => {
    const { app } = await started();
    const roles = app.context.services.get('roles');
    const decision = roles.explain(user('jwt|e', ['editor'], ['write:drafts']), 'write:comments');
    expect(decision).toMatchObject({
      allowed: false,
      reason: 'no-grant',
      permission: 'write:comments',
      rolesConsidered: ['editor', 'viewer'],
    });
    expect(decision.grant).toBeUndefined();
    // Same action (write:content, write:drafts) or a pattern covering the resource (read:*).
    expect(decision.closest.map((grant) => `${grant.role ?? 'user'} ${grant.pattern}`)).toEqual([
      'editor write:content',
      'viewer read:*',
      'user write:drafts',
    ]);
    const granted = roles.explain(user('jwt|e', ['editor']), 'write:content');
    expect(granted).toMatchObject({
      allowed: true,
      reason: 'granted',
      grant: { role: 'editor', pattern: 'write:content' },
    });
    expect(roles.explain(user('jwt|e', ['editor']), 'nonsense').reason).toBe('invalid-permission');
  });

  it('explains a posted user object over HTTP (admin), and refuses bad input with 400', async () => {
    const { url } = await started();
    const response = await fetch(`${url}/api/roles/explain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        user: { id: 'jwt|x', roles: ['viewer'] },
        permission: 'write:content',
        roles: 'chief',
      }),
    });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.user.roles).toEqual(['viewer', 'chief']);
    expect(body.decision).toMatchObject({ allowed: true, grant: { role: 'editor' } });
    const bad = await fetch(`${url}/api/roles/explain?user=jwt|x`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
    expect(await bad.json()).toMatchObject({ code: 'ROLES_INVALID_QUERY' });
  });

  it('lists roles with their grants and inheritance for the Roles page', async () => {
    const { url, app } = await started();
    const body = await json(fetch(`${url}/api/roles`));
    expect(body.model).toBe('rbac');
    expect(body.roles).toContainEqual({
      name: 'chief',
      description: 'Editor in chief',
      source: 'config',
      inherits: ['editor'],
      grants: ['delete:content'],
      effective: ['delete:content', 'write:content', 'publish:drafts', 'read:*'],
      assigned: 0,
    });
    const page = app.context
      .ui()
      .flatMap((entry) => entry.contribution.pages ?? [])
      .find((candidate) => candidate.id === 'roles');
    // Configured roles only: the page has no forms that change them.
    expect(page?.views.map((view) => view.kind)).toEqual(['table', 'form']);
  });
});
