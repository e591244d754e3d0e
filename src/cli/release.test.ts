import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeysPlugin } from '../plugins/api-keys/index.js';
import { createAuthPlugin } from '../plugins/auth/index.js';
import { testIssuer } from '../plugins/auth/test-support/gateway-kit.js';
import { createDatabasePlugin } from '../plugins/database/index.js';
import { createStaticPlugin } from '../plugins/static/index.js';
import {
  freePorts,
  startTrafficGateway,
  type TrafficGateway,
} from '../plugins/traffic/test-support/gateway.js';
import { buildRelease } from '../plugins/traffic/test-support/releases.js';
import { tarballOf } from '../../test/support/release-upload.js';
import { createKey as keyOf } from './test-support/keys.js';
import { cli } from './test-support/run-cli.js';

/**
 * The CI job's view: the CLI spawned with a scoped key in QWICKAPPS_TOKEN, against a gateway with
 * the auth plugin as its guard, API keys, a service in traffic slots and a frontend in releases.
 */
let directory: string;
let gateway: TrafficGateway;
let admin: string;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'cli-release-'));
  const issuer = await testIssuer();
  admin = await issuer.token({ sub: 'root', roles: ['admin'] });
  const frontendRoot = path.join(directory, 'frontend');
  await mkdir(frontendRoot);
  gateway = await startTrafficGateway({
    ports: await freePorts(2),
    statePath: path.join(directory, 'state.json'),
    plugins: [
      createDatabasePlugin({ url: 'memory://' }),
      createAuthPlugin({ providers: [issuer.provider], controlPanel: { adminRoles: ['admin'] } }),
      createApiKeysPlugin(),
      createStaticPlugin({ root: frontendRoot, releases: true, spa: true }),
    ],
    traffic: {
      orchestrator: {
        type: 'process',
        command: process.execPath,
        args: ['server.mjs'],
        env: { VERSION: '{version}' },
        ports: await freePorts(2),
        stopTimeout: 5_000,
      },
      releases: { path: path.join(directory, 'releases'), maxBytes: 512 * 1024 },
    },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await rm(directory, { recursive: true, force: true });
});

const createKey = async (scopes: string[]) => (await keyOf(gateway.url, admin, scopes)).key;

const env = (token: string) => ({ QWICKAPPS_URL: gateway.url, QWICKAPPS_TOKEN: token });

async function hello(): Promise<{ version: string; message: string }> {
  const response = await fetch(`${gateway.url}/api/v1/hello`);
  return (await response.json()) as { version: string; message: string };
}

const page = () =>
  fetch(`${gateway.url}/`, { headers: { accept: 'text/html' } }).then((res) => res.text());

async function frontendBuild(version: string): Promise<string> {
  const dir = path.join(directory, 'dist-ui', version);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'index.html'), `<title>${version}</title>`);
  return dir;
}

/** The refusal of a key without the permission (qualified by the service, or not). */
const permissionMissing = (permission: string, qualified = false) =>
  qualified
    ? `This needs the permission ${permission}, or its part for what the call acts on (${permission}:<name>), or an admin role. [AUTH_PERMISSION_MISSING]`
    : `This needs the permission ${permission} (or an admin role). [AUTH_PERMISSION_MISSING]`;

describe('qwickapps release, as a CI job runs it', () => {
  it('a key scoped to traffic:deploy:api releases and deploys api, and the new code answers', async () => {
    const key = await createKey(['traffic:deploy:api']);
    const build = await buildRelease(path.join(directory, 'build', 'v1'), 'built in CI v1');
    const released = await cli(['release', 'api', 'v1', build], env(key));
    expect(released.stderr).toBe('');
    expect(released.code).toBe(0);
    expect(released.stdout).toMatch(
      /^Stored api v1 \(\d+ KiB, sha256 [0-9a-f]{12}\); run it with: qwickapps deploy api v1\n$/,
    );
    const deployed = await cli(['deploy', 'api', 'v1', '--interval', '100'], env(key));
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toContain('v1 is active in slot-a.');
    expect(await hello()).toEqual(
      expect.objectContaining({ version: 'v1', message: 'built in CI v1' }),
    );

    // A .tgz is sent as it is; the same bytes again change nothing.
    const tarball = path.join(directory, 'v2.tgz');
    await writeFile(
      tarball,
      await tarballOf(await buildRelease(path.join(directory, 'build', 'v2'), 'built in CI v2')),
    );
    expect((await cli(['release', 'api', 'v2', tarball], env(key))).code).toBe(0);
    const again = await cli(['release', 'api', 'v2', tarball, '--json'], env(key));
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ version: 'v2', created: false });
    const second = await cli(['deploy', 'api', 'v2', '--interval', '50'], env(key));
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(
      'v2 is healthy in slot-b; promote it with: qwickapps promote api',
    );

    // Nothing beyond its service: not the frontend, nor reading the list.
    const frontend = await cli(['release', 'frontend', 'v1', await frontendBuild('v1')], env(key));
    expect(frontend.code).toBe(1);
    expect(frontend.stderr).toContain(permissionMissing('static:release'));
    const activate = await cli(['activate', 'frontend', 'v1'], env(key));
    expect(activate.code).toBe(1);
    expect(activate.stderr).toContain(permissionMissing('static:activate'));
  });

  it('says why the gateway refused a build: too big, or a link out of it', async () => {
    const key = await createKey(['traffic:deploy:api']);
    const big = path.join(directory, 'build', 'big');
    await buildRelease(big, 'big');
    await writeFile(path.join(big, 'blob.bin'), randomBytes(1024 * 1024));
    const tooBig = await cli(['release', 'api', 'v3', big], env(key));
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toMatch(
      /^qwickapps: The archive is larger than the 524288 bytes \(0\.5 MiB\) a release may be; raise releases\.maxBytes to take it\. \[TRAFFIC_RELEASE_TOO_LARGE\]/,
    );
    const linked = path.join(directory, 'build', 'linked');
    await buildRelease(linked, 'linked');
    await symlink('/etc', path.join(linked, 'etc'));
    const out = await cli(['release', 'api', 'v3', linked], env(key));
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(
      'qwickapps: The archive\'s entry "etc" is a symbolic link to "/etc", outside the release. Nothing was stored. [TRAFFIC_RELEASE_UNSAFE_ENTRY]',
    );
    const missing = await cli(['release', 'api', 'v3', path.join(directory, 'nowhere')], env(key));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('is neither a folder nor a .tgz');
  });

  it('a key with static:release and static:activate releases, activates and rolls back the frontend only', async () => {
    const key = await createKey(['static:release', 'static:activate']);
    for (const version of ['v1', 'v2']) {
      const released = await cli(
        ['release', 'frontend', version, await frontendBuild(version)],
        env(key),
      );
      expect(released.stderr).toBe('');
      expect(released.stdout).toContain(`serve it with: qwickapps activate frontend ${version}`);
    }
    expect((await cli(['activate', 'frontend', 'v1'], env(key))).stdout).toBe(
      'frontend: v1 is active\n',
    );
    expect(await page()).toBe('<title>v1</title>');
    expect((await cli(['activate', 'frontend', 'v2'], env(key))).stdout).toBe(
      'frontend: v2 is active; rollback goes back to v1\n',
    );
    expect(await page()).toBe('<title>v2</title>');
    const rolledBack = await cli(['rollback', 'frontend'], env(key));
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.stdout).toBe('frontend: rolled back to v1 (from v2)\n');
    expect(await page()).toBe('<title>v1</title>');

    const service = await cli(
      ['release', 'api', 'v9', await buildRelease(path.join(directory, 'build', 'v9'), 'x')],
      env(key),
    );
    expect(service.code).toBe(1);
    expect(service.stderr).toContain(permissionMissing('traffic:deploy', true));
  });

  it('lists releases for an admin, newest first, the frontend with what it serves', async () => {
    const services = await cli(['releases', 'api'], env(admin));
    expect(services.code).toBe(0);
    const lines = services.stdout.trim().split('\n');
    expect(lines.map((line) => line.split(/\s+/)[0])).toEqual(['v2', 'v1']);
    expect(lines[0]).toMatch(/ candidate in slot-b$/);
    expect(lines[1]).toMatch(/ active in slot-a$/);
    const frontend = await cli(['releases', 'frontend', '--json'], env(admin));
    const listed = JSON.parse(frontend.stdout) as {
      active: string;
      releases: { version: string; previous: boolean }[];
    };
    expect(listed.active).toBe('v1');
    expect(listed.releases.find((release) => release.version === 'v2')?.previous).toBe(true);
  });
});
