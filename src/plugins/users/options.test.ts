import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { createApp } from '../../index.js';
import { createDatabasePlugin } from '../database/index.js';
import { createUsersPlugin, type UsersOptions } from './index.js';

/** Each problem as "option: expected". */
function configProblems(options: UsersOptions): string[] {
  try {
    createApp({
      name: 'users-options',
      port: 0,
      logger: { level: 'silent' },
      shutdown: { signals: false },
      plugins: [createDatabasePlugin({ url: 'memory://' }), createUsersPlugin(options)],
    });
  } catch (error) {
    if (error instanceof ConfigError)
      return error.issues.map((issue) => `${issue.name}: ${issue.expected}`);
    throw error;
  }
  return [];
}

describe('users options', () => {
  it('accepts the vision example and the defaults', () => {
    expect(configProblems({})).toEqual([]);
    expect(
      configProblems({
        storage: 'database',
        table: 'users',
        fields: {
          email: { required: true, unique: true },
          name: { required: true },
          avatar: { type: 'url' },
        },
      }),
    ).toEqual([]);
  });

  it('names every bad option at start-up: table, a reserved field, an over-long unique field', () => {
    const problems = configProblems({
      table: 'Users; DROP',
      fields: { id: {}, handle: { unique: true, maxLength: 1000 } },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('plugins.users.table'),
        expect.stringContaining('plugins.users.fields.id'),
        expect.stringContaining('plugins.users.fields.handle.maxLength'),
      ]),
    );
  });

  it('names each missing or bad sync option: credentials (and their variables), domain, interval', () => {
    const auth0 = configProblems({
      sync: { provider: 'auth0', domain: 'https://acme.auth0.com', interval: 5 } as never,
    });
    expect(auth0).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^plugins\.users\.sync\.domain: /),
        expect.stringMatching(/^plugins\.users\.sync\.clientId: /),
        expect.stringMatching(/^plugins\.users\.sync\.clientSecret: /),
        expect.stringMatching(/^plugins\.users\.sync\.interval: /),
      ]),
    );
    const supabase = configProblems({ sync: { provider: 'supabase', url: 'ftp://x' } as never });
    expect(supabase).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^plugins\.users\.sync\.url: /),
        expect.stringMatching(/^plugins\.users\.sync\.serviceRoleKey: /),
      ]),
    );
    expect(configProblems({ sync: { provider: 'okta' } as never })).toEqual([
      expect.stringContaining('plugins.users.sync'),
    ]);
  });

  it("accepts the vision's sync with credentials from the environment, and masks them", () => {
    const saved = { ...process.env };
    process.env.AUTH0_MGMT_CLIENT_ID = 'mgmt-client';
    process.env.AUTH0_MGMT_CLIENT_SECRET = 'mgmt-secret-value';
    process.env.SUPABASE_SERVICE_ROLE_KEY = 'service-role-value';
    try {
      const vision = { provider: 'auth0', interval: 3600000, domain: 'acme.eu.auth0.com' } as const;
      expect(configProblems({ sync: vision })).toEqual([]);
      expect(
        configProblems({ sync: { provider: 'supabase', url: 'https://ref.supabase.co' } }),
      ).toEqual([]);
      for (const sync of [
        vision,
        { provider: 'supabase' as const, url: 'https://ref.supabase.co' },
      ]) {
        const app = createApp({
          name: 'users-options',
          port: 0,
          logger: { level: 'silent' },
          shutdown: { signals: false },
          plugins: [createDatabasePlugin({ url: 'memory://' }), createUsersPlugin({ sync })],
        });
        const shown = JSON.stringify(app.context.config.effective());
        expect(shown).not.toContain('mgmt-secret-value');
        expect(shown).not.toContain('service-role-value');
        expect(shown).toContain(sync.provider === 'auth0' ? 'mgmt-client' : 'ref.supabase.co');
      }
    } finally {
      process.env = saved;
    }
  });
});
