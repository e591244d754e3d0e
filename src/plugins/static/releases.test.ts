import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError, createApp, type App } from '../../index.js';
import { baseUrl } from '../../../test/support/http.js';
import { createStaticPlugin, type StaticController, type StaticPluginOptions } from './index.js';
import { tempDir, writeTree } from './test-support/fixtures.js';

// Large enough to be streamed in many chunks, so a switch can land while one is being sent.
const SIZE = 256 * 1024;
const body = (version: string) => `${version}:`.padEnd(SIZE, version === 'v1' ? 'a' : 'b');

let site: { dir: string; cleanup: () => Promise<void> };
let root: string;
beforeEach(async () => {
  site = await tempDir();
  root = path.join(site.dir, 'releases');
  await writeTree(root, {
    'v1/index.html': '<title>v1</title>',
    'v1/asset.txt': body('v1'),
    'v2/index.html': '<title>v2</title>',
    'v2/asset.txt': body('v2'),
  });
});

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await site.cleanup();
});

async function start(
  options: Partial<StaticPluginOptions> = {},
): Promise<{ app: App; url: string; releases: StaticController }> {
  const app = createApp({
    name: 'static',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins: [createStaticPlugin({ root, spa: true, ...options })],
  });
  apps.push(app);
  await app.start();
  return { app, url: baseUrl(app), releases: app.context.services.get('static') };
}

const page = (url: string, pathname = '/') =>
  fetch(`${url}${pathname}`, { headers: { accept: 'text/html' } }).then((res) => res.text());

describe('static plugin: releases', () => {
  it('detects a releases folder and starts on the requested release, else the highest', async () => {
    const first = await start({ release: 'v1' });
    expect(first.releases.releases).toBe(true);
    expect(first.releases.active()).toBe('v1');
    expect(await page(first.url, '/some/route')).toBe('<title>v1</title>');
    await first.app.stop();
    const second = await start();
    expect(second.releases.active()).toBe('v2');
  });

  it('switches under continuous requests: every answer is whole, none fails, and only v2 after the switch', async () => {
    const { url, releases } = await start({ release: 'v1' });
    let switched = false;
    let stop = false;
    const results: { status: number; text: string; afterSwitch: boolean }[] = [];
    const worker = async () => {
      for (let iteration = 0; iteration < 400 && !stop; iteration++) {
        const afterSwitch = switched;
        const res = await fetch(`${url}/asset.txt`);
        results.push({ status: res.status, text: await res.text(), afterSwitch });
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    while (results.length < 40) await new Promise((resolve) => setTimeout(resolve, 5));
    await releases.activate('v2');
    switched = true;
    const switchedAt = results.length;
    while (results.length < switchedAt + 40) await new Promise((resolve) => setTimeout(resolve, 5));
    stop = true;
    await Promise.all(workers);

    expect(results.every((result) => result.status === 200)).toBe(true);
    expect(
      results.every((result) => result.text === body('v1') || result.text === body('v2')),
    ).toBe(true);
    expect(results.some((result) => result.text === body('v1'))).toBe(true);
    const after = results.filter((result) => result.afterSwitch);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((result) => result.text === body('v2'))).toBe(true);

    // And back.
    expect(await releases.activate('v1')).toEqual({ active: 'v1', previous: 'v2' });
    expect(await (await fetch(`${url}/asset.txt`)).text()).toBe(body('v1'));
  });

  it('records the active release in the current file, so a restart keeps it', async () => {
    const first = await start({ release: 'v1' });
    await first.releases.activate('v2');
    expect(await readFile(path.join(root, 'current'), 'utf8')).toBe('v2\n');
    await first.app.stop();
    // The recorded choice wins over the configured starting release.
    const second = await start({ release: 'v1' });
    expect(second.releases.active()).toBe('v2');
    expect(await page(second.url)).toBe('<title>v2</title>');
  });

  it('refuses unknown, malformed and incomplete releases and keeps the active one', async () => {
    await mkdir(path.join(root, 'v3'));
    const { releases, url } = await start({ release: 'v1' });
    const failure = (version: string) =>
      releases.activate(version).then(
        () => undefined,
        (error: unknown) => error as HttpError,
      );
    expect(await failure('v9')).toMatchObject({ status: 404, code: 'STATIC_RELEASE_NOT_FOUND' });
    expect(await failure('../v1')).toMatchObject({ status: 400, code: 'STATIC_RELEASE_INVALID' });
    expect(await failure('v3')).toMatchObject({ status: 409, code: 'STATIC_RELEASE_INCOMPLETE' });
    expect(await failure('v9')).toBeInstanceOf(HttpError);
    expect(releases.active()).toBe('v1');
    expect(await page(url)).toBe('<title>v1</title>');
  });

  it('lists and activates releases through the admin routes', async () => {
    const { url } = await start({ release: 'v1' });
    const listed = await fetch(`${url}/api/static/releases`).then(
      (res) => res.json() as Promise<Record<string, unknown>>,
    );
    expect(listed).toMatchObject({ enabled: true, active: 'v1' });
    expect(
      (listed.releases as { version: string; active: boolean }[]).map(({ version, active }) => ({
        version,
        active,
      })),
    ).toEqual([
      { version: 'v1', active: true },
      { version: 'v2', active: false },
    ]);
    const activated = await fetch(`${url}/api/static/releases/v2/activate`, { method: 'POST' });
    expect(await activated.json()).toEqual({ active: 'v2', previous: 'v1' });
    expect(await page(url)).toBe('<title>v2</title>');
    const unknown = await fetch(`${url}/api/static/releases/v7/activate`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/problem+json');
    expect(await unknown.json()).toMatchObject({
      code: 'STATIC_RELEASE_NOT_FOUND',
      available: ['v1', 'v2'],
    });
  });

  it('serves a plain folder when there are no releases, and says so on activate', async () => {
    await writeTree(path.join(site.dir, 'plain'), { 'index.html': '<title>plain</title>' });
    root = path.join(site.dir, 'plain');
    const { url, releases } = await start();
    expect(releases.releases).toBe(false);
    expect(await page(url)).toBe('<title>plain</title>');
    const res = await fetch(`${url}/api/static/releases/v1/activate`, { method: 'POST' });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'STATIC_RELEASES_DISABLED' });
  });

  it('names no path of this machine in its error answers', async () => {
    // A folder where the `current` file belongs: recording the active release fails (a 500).
    await mkdir(path.join(root, 'current'));
    const { url } = await start({ release: 'v1' });
    const machine = [site.dir, root, os.tmpdir(), process.cwd()];
    const answers = [
      await fetch(`${url}/api/static/releases/v7/activate`, { method: 'POST' }),
      await fetch(`${url}/api/static/releases/v2/activate`, { method: 'POST' }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([404, 500]);
    await writeTree(path.join(site.dir, 'plain'), { 'index.html': '<title>plain</title>' });
    root = path.join(site.dir, 'plain');
    const plain = await start();
    answers.push(await fetch(`${plain.url}/api/static/releases/v1/activate`, { method: 'POST' }));
    expect(answers[2].status).toBe(409);
    for (const answer of answers) {
      const text = await answer.text();
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      for (const folder of machine) expect(text, text).not.toContain(folder);
    }
  });

  it('fails start-up clearly when the root does not exist', async () => {
    const app = createApp({
      name: 'static',
      port: 0,
      host: '127.0.0.1',
      logger: { level: 'silent' },
      shutdown: { signals: false },
      plugins: [createStaticPlugin({ root: path.join(site.dir, 'missing') })],
    });
    apps.push(app);
    await expect(app.start()).rejects.toThrow(
      /plugins\.static\.root: expected an existing folder .*missing/,
    );
  });
});
