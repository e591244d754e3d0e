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

  it('names every bad option at start-up: table, a reserved field, an over-long unique field, sync', () => {
    const problems = configProblems({
      table: 'Users; DROP',
      fields: { id: {}, handle: { unique: true, maxLength: 1000 } },
      ...({ sync: { provider: 'auth0' } } as object),
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('plugins.users.table'),
        expect.stringContaining('plugins.users.fields.id'),
        expect.stringContaining('plugins.users.fields.handle.maxLength'),
      ]),
    );
    // Provider sync is not built: the option is refused, not silently ignored.
    expect(problems).toContain('plugins.users: no such option (sync)');
  });
});
