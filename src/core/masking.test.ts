import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  MASK,
  isSecretName,
  isSecretSchema,
  maskSecrets,
  maskUrlPassword,
  secret,
  secretKeysOf,
} from '../index.js';
import { inspectEnv, toConfigIssues } from './config.js';

// The rules the config plugin and the diagnostics report rely on, checked value by value.
describe('masking', () => {
  it.each([
    ['postgres://user:hunter2@db:5432/app', 'postgres://user:********@db:5432/app'],
    ['redis://:hunter2@127.0.0.1:6379', 'redis://:********@127.0.0.1:6379'],
    ['postgres://user:p@ss@db/app', 'postgres://user:********@db/app'],
    // A raw "/" in the password breaks URL parsing; the password is still hidden.
    ['postgres://user:pa/ss@db/app', 'postgres://user:********@db/app'],
    [
      'connect to mysql://root:hunter2@h1/x, then amqp://u:hunter2@h2',
      'connect to mysql://root:********@h1/x, then amqp://u:********@h2',
    ],
    // node-postgres (and others) read credentials from the query string too.
    [
      'postgres://user@db/app?sslmode=require&password=hunter2',
      'postgres://user@db/app?sslmode=require&password=********',
    ],
    ['mysql://root:hunter2@h/x?password=hunter2', 'mysql://root:********@h/x?password=********'],
    [
      'https://hooks.test/in?access_token=abc123&x=1',
      'https://hooks.test/in?access_token=********&x=1',
    ],
    [
      'https://example.test/?page=2&sort=name&password=',
      'https://example.test/?page=2&sort=name&password=',
    ],
    // Left alone: no password, a port, an @ in the path or query, IPv6.
    ['postgres://user@db/app', 'postgres://user@db/app'],
    ['https://host:8443/users/a@b.c', 'https://host:8443/users/a@b.c'],
    ['https://example.test/?email=a@b.c', 'https://example.test/?email=a@b.c'],
    ['http://[::1]:8080/x@y', 'http://[::1]:8080/x@y'],
    ['not a url', 'not a url'],
  ])('maskUrlPassword(%j)', (input, expected) => {
    expect(maskUrlPassword(input)).toBe(expected);
  });

  it('treats names like *SECRET*, *TOKEN*, *PASSWORD*, *KEY* as secret, and not their look-alikes', () => {
    for (const name of [
      'sessionSecret',
      'API_TOKEN',
      'dbPassword',
      'DB_PASS',
      'apiKey',
      'API_KEY',
      'privateKey',
      'masterkey',
      'credentials',
      'cookie',
    ])
      expect(isSecretName(name), name).toBe(true);
    for (const name of [
      'keyPrefix',
      'SSH_KEY_PATH',
      'bypass',
      'keepAliveTimeout',
      'region',
      'databaseUrl',
      'compass',
    ])
      expect(isSecretName(name), name).toBe(false);
  });

  it('finds secret markings through wrappers, transforms, nesting, arrays and records', () => {
    expect(isSecretSchema(secret(z.string()).optional().default('x'))).toBe(true);
    expect(isSecretSchema(secret(z.string()).transform((value) => value.trim()))).toBe(true);
    expect(isSecretSchema(z.string())).toBe(false);
    const schema = z
      .object({
        signing: secret(z.string()),
        db: z.object({ host: z.string(), auth: secret(z.string()).optional() }),
        replicas: z.array(z.object({ url: z.string(), material: secret(z.string()) })),
        named: z.record(z.string(), secret(z.string())),
        plain: z.string(),
      })
      .transform((value) => value);
    expect([...secretKeysOf(schema)].sort()).toEqual([
      'db.auth',
      'named.*',
      'replicas[].material',
      'signing',
    ]);
  });

  it('masks a configuration deeply and always returns something safe to serialise', () => {
    const schema = z.object({
      db: z.object({ auth: secret(z.string()) }),
      replicas: z.array(z.object({ material: secret(z.string()) })),
    });
    const cycle: Record<string, unknown> = { label: 'loop' };
    cycle.self = cycle;
    const masked = maskSecrets(
      {
        db: { auth: 'raw-1', host: 'db' },
        replicas: [{ material: 'raw-2' }],
        apiKey: 'raw-3',
        tokenTtl: 3600,
        useToken: true,
        emptyPassword: '',
        url: new URL('postgres://u:raw-4@h/db'),
        headers: new Map([['authorization', 'Bearer raw-5']]),
        buffer: Buffer.from('raw-6'),
        big: 10n,
        cycle,
        client: new (class RedisClient {
          password = 'raw-7';
        })(),
        nullish: Object.assign(Object.create(null) as object, { secret: 'raw-8' }),
      },
      secretKeysOf(schema),
    );
    const text = JSON.stringify(masked);
    for (let index = 1; index <= 8; index++) expect(text).not.toContain(`raw-${index}`);
    expect(masked).toEqual({
      db: { auth: MASK, host: 'db' },
      replicas: [{ material: MASK }],
      apiKey: MASK,
      tokenTtl: 3600,
      useToken: true,
      emptyPassword: '',
      url: 'postgres://u:********@h/db',
      headers: { authorization: MASK },
      buffer: '[Buffer 5 bytes]',
      big: '10',
      cycle: { label: 'loop', self: '[Circular]' },
      client: '[RedisClient]',
      nullish: { secret: MASK },
    });
  });

  it('never echoes a secret in a validation problem, nested or from the environment', () => {
    const schema = z.object({
      db: z.object({ auth: secret(z.string().min(20)), port: z.number() }),
    });
    const input = { db: { auth: 'raw-short', port: 'x' } };
    const issues = toConfigIssues(schema.safeParse(input).error!, input, {
      prefix: 'plugins.db.',
      secretKeys: secretKeysOf(schema),
    });
    expect(issues).toEqual([
      expect.objectContaining({ name: 'plugins.db.db.auth', received: MASK }),
      expect.objectContaining({ name: 'plugins.db.db.port', received: '"x"' }),
    ]);
    const objectIssue = toConfigIssues(
      z.object({ db: z.string() }).safeParse({ db: { password: 'raw-obj' } }).error!,
      { db: { password: 'raw-obj' } },
    );
    expect(objectIssue[0].received).not.toContain('raw-obj');

    const { report } = inspectEnv(
      { QA_URL: z.string().startsWith('mysql://') },
      { QA_URL: 'postgres://u:raw-env@h/db' },
    );
    expect(report[0]).toMatchObject({ status: 'invalid', value: 'postgres://u:********@h/db' });
  });

  it('masks the password of a mistyped URL that is no URL at all', () => {
    expect(maskUrlPassword('postgres//user:pw@db:5432/x')).toBe(
      'postgres//user:********@db:5432/x',
    );
    expect(maskUrlPassword('DATABASE_URL=user:secret@host')).toBe(
      'DATABASE_URL=user:********@host',
    );
    expect(maskUrlPassword('bob@example.com')).toBe('bob@example.com');
  });
});
