import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { createApp, definePlugin, type App } from '../../../src/index.js';

/** What the test server saw, so tests assert on real requests. */
export interface Seen {
  actions: { method: string; body: unknown; csrf?: string }[];
  forms: { body: unknown; csrf?: string }[];
}

const formSchema = z.object({
  ttl: z.number().int().min(1),
  mode: z.enum(['fast', 'safe']),
  enabled: z.boolean(),
  label: z.string().min(2),
});

/**
 * A real app serving the JSON the views read (no fetch stubs): the views talk HTTP to it
 * through the document's base URL.
 */
export async function startViewServer(): Promise<{
  app: App;
  base: string;
  seen: Seen;
  emitLog: (entry: object) => void;
}> {
  const seen: Seen = { actions: [], forms: [] };
  const streams = new Set<ServerResponse>();
  const plugin = definePlugin({
    name: 'views',
    routes: [
      {
        method: 'get',
        path: '/api/rows',
        handler: (_req, res) =>
          void res.json({
            items: [
              {
                name: 'alpha',
                size: 2048,
                state: 'healthy',
                at: '2025-01-02T03:04:05Z',
                pool: { idle: 3 },
              },
              { name: 'beta', size: 5, state: 'failed', pool: { idle: 0 } },
            ],
          }),
      },
      {
        method: 'get',
        path: '/api/facts',
        handler: (_req, res) =>
          void res.json({
            memory: { rss: 3 * 1024 * 1024 },
            uptime: 3725,
            ratio: 0.25,
            nested: { deep: { value: 'x' } },
          }),
      },
      {
        method: 'get',
        path: '/api/health-report',
        handler: (_req, res) =>
          void res.json({
            status: 'degraded',
            phase: 'ready',
            ready: true,
            uptimeSeconds: 90,
            checks: [
              {
                name: 'database',
                critical: true,
                status: 'healthy',
                latencyMs: 4.2,
                lastRun: '2025-01-02T03:04:05Z',
                history: [
                  { at: 'a', status: 'healthy', latencyMs: 4 },
                  { at: 'b', status: 'healthy', latencyMs: 6 },
                ],
              },
              {
                name: 'cache',
                critical: false,
                status: 'degraded',
                message: 'slow replies',
                latencyMs: 250,
                history: [{ at: 'a', status: 'degraded', latencyMs: 250 }],
              },
            ],
          }),
      },
      {
        method: 'get',
        path: '/api/graph',
        handler: (_req, res) =>
          void res.json({
            plugins: [
              { name: 'users', state: 'ready', version: '2.0.0', dependencies: ['database'] },
              { name: 'database', state: 'ready', dependencies: [] },
              { name: 'broken', state: 'failed', dependencies: ['users'], error: 'boom' },
            ],
          }),
      },
      {
        method: 'post',
        path: '/api/act',
        handler: (req, res) => {
          seen.actions.push({
            method: req.method,
            body: req.body,
            csrf: req.headers['x-csrf-token'] as string | undefined,
          });
          res.json({ flushed: true });
        },
      },
      {
        method: 'post',
        path: '/api/settings',
        handler: (req, res) => {
          seen.forms.push({
            body: req.body,
            csrf: req.headers['x-csrf-token'] as string | undefined,
          });
          const parsed = formSchema.safeParse(req.body);
          if (!parsed.success)
            return void res
              .status(400)
              .type('application/problem+json')
              .json({ status: 400, code: 'VIEWS_INVALID', detail: 'label: too short' });
          res.json({ saved: true });
        },
      },
      {
        method: 'get',
        path: '/api/lines',
        handler: (_req, res) =>
          void res.json({
            entries: [
              { level: 'info', time: '2025-01-02T03:04:05Z', msg: 'older line' },
              { level: 50, time: '2025-01-02T03:04:04Z', msg: 'an error line' },
            ],
          }),
      },
      {
        method: 'get',
        path: '/api/lines/stream',
        handler: (req, res) => {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
          res.write(': open\n\n');
          streams.add(res);
          req.on('close', () => streams.delete(res));
        },
      },
    ],
  });
  const app = createApp({
    name: 'views',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false, readinessDelay: 0 },
    plugins: [plugin],
  });
  await app.start();
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const emitLog = (entry: object) => {
    for (const res of streams) res.write(`data: ${JSON.stringify(entry)}\n\n`);
  };
  const stop = app.stop;
  app.stop = async (options) => {
    for (const res of streams) res.end();
    await stop(options);
  };
  return { app, base, seen, emitLog };
}

export { formSchema };
