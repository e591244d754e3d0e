import { stat } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../index.js';
import { baseUrl, captureLogs, json } from '../../test/support/http.js';

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

const MISSING = '/var/lib/qwickapps-missing/releases/v9/index.html';

describe('error answers', () => {
  it("keep a system error's paths in the log, not the answer, and other client errors' messages as they are", async () => {
    const logs = captureLogs();
    const app = createApp({
      name: 'problems',
      port: 0,
      host: '127.0.0.1',
      logger: { destination: logs.stream, level: 'info' },
      shutdown: { signals: false },
      plugins: [
        {
          name: 'files',
          routes: [
            {
              method: 'get',
              path: '/file',
              // What send and serve-static do with a file they cannot stat: the fs error, given a 404.
              handler: async (_req, _res, next) =>
                next(
                  Object.assign(await stat(MISSING).catch((error: unknown) => error as Error), {
                    status: 404,
                    expose: true,
                  }),
                ),
            },
            {
              method: 'get',
              path: '/polite',
              handler: (_req, _res, next) =>
                next(Object.assign(new Error('Say please.'), { status: 400 })),
            },
          ],
        },
      ],
    });
    apps.push(app);
    await app.start();
    const file = await fetch(`${baseUrl(app)}/file`);
    expect(file.status).toBe(404);
    expect(file.headers.get('content-type')).toBe('application/problem+json');
    const text = await file.text();
    expect(text).not.toContain('/var/lib');
    expect(JSON.parse(text)).toMatchObject({ code: 'REQUEST_INVALID', detail: 'Not Found.' });
    expect(
      JSON.stringify(logs.lines.filter((line) => line.msg === 'request refused by a system error')),
    ).toContain(MISSING);
    expect(await json(fetch(`${baseUrl(app)}/polite`))).toMatchObject({
      status: 400,
      detail: 'Say please.',
    });
  });
});
