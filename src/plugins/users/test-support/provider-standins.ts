import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { closeServer, listenLocal } from '../../auth/test-support/keys.js';

/*
 * Stand-ins for the two providers' user APIs, which we cannot run here: real HTTP servers on
 * 127.0.0.1 that follow the documented requests and answers, their paging limits and their
 * rate-limit answers (429 with Retry-After).
 *
 * Auth0 Management API (https://auth0.com/docs/api/management/v2):
 *   POST /oauth/token                 client credentials, audience https://<domain>/api/v2/
 *   GET  /api/v2/users?page=&per_page=&include_totals=true
 *        -> { start, limit, length, total, users }; per_page at most 100, and only the first
 *           1,000 users are reachable (a page past them is a 400, as Auth0 answers)
 *   POST /api/v2/jobs/users-exports   -> { type: 'users_export', status: 'pending', id, ... }
 *   GET  /api/v2/jobs/{id}            -> pending, then completed with a `location`
 *   GET  <location>                   the gzipped NDJSON file (a pre-signed URL: no bearer)
 * Supabase Auth admin API (https://supabase.com/docs/reference/api, GoTrue):
 *   GET /auth/v1/admin/users?page=&per_page=   apikey + Authorization: Bearer <service role>
 *        -> { users, aud }, headers x-total-count and Link (rel="next", rel="last")
 */

/** One scripted answer: the first `times` requests matching `path` (and `page`) get it. */
export interface ScriptedAnswer {
  path: string;
  page?: number;
  status: number;
  headers?: Record<string, string>;
  times: number;
}

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  at: number;
}

interface StandInBase {
  url: string;
  /** Every request, in order. */
  readonly seen: SeenRequest[];
  /** Answers given before the real one: failures, 429s. */
  script(answer: ScriptedAnswer): void;
  /** Each request waits this long first (to hold a sync open). */
  delayMs: number;
  close(): Promise<void>;
}

export interface Auth0User {
  user_id: string;
  email?: string;
  name?: string;
  picture?: string;
  blocked?: boolean;
}

export interface Auth0StandIn extends StandInBase {
  domain: string;
  clientId: string;
  clientSecret: string;
  users: Auth0User[];
  /** Polls answered `pending` before a job completes. Default 2. */
  pendingPolls: number;
}

export interface SupabaseUser {
  id: string;
  email?: string;
  user_metadata?: Record<string, unknown>;
  banned_until?: string;
}

export interface SupabaseAdminStandIn extends StandInBase {
  serviceRoleKey: string;
  users: SupabaseUser[];
}

const json = (res: ServerResponse, status: number, body: unknown, headers = {}) =>
  res
    .writeHead(status, { 'content-type': 'application/json', ...headers })
    .end(JSON.stringify(body));

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<unknown> | unknown;

/** A server that logs each request, waits `delayMs`, plays scripted answers, then `handle`s it. */
async function standInServer(handle: Handler, delayMs: () => number) {
  const seen: SeenRequest[] = [];
  const scripted: ScriptedAnswer[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    seen.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      at: Date.now(),
    });
    const answer = async () => {
      const delay = delayMs();
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      const page = url.searchParams.get('page');
      const script = scripted.find(
        (entry) =>
          entry.times > 0 &&
          entry.path === url.pathname &&
          (entry.page === undefined || String(entry.page) === page),
      );
      if (script) {
        script.times--;
        return json(
          res,
          script.status,
          { statusCode: script.status, error: 'scripted', message: 'scripted answer' },
          script.headers,
        );
      }
      await handle(req, res, url);
    };
    answer().catch((error: unknown) => json(res, 500, { message: String(error) }));
  });
  const url = await listenLocal(server);
  return {
    url,
    seen,
    script: (answer: ScriptedAnswer) => scripted.push({ ...answer }),
    close: () => closeServer(server),
  };
}

/** An Auth0 tenant's Management API and token endpoint (see the top of this file). */
export async function startAuth0StandIn(users: Auth0User[] = []): Promise<Auth0StandIn> {
  const domain = `tenant-${randomBytes(3).toString('hex')}.auth0.test`;
  const clientId = `mgmt-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(16).toString('hex');
  const tokens = new Set<string>();
  const jobs = new Map<string, { polls: number; file?: Buffer }>();
  const self = { users, pendingPolls: 2, delayMs: 0 } as Auth0StandIn;
  let base = '';

  const authorised = (req: IncomingMessage) => {
    const header = req.headers.authorization ?? '';
    return header.startsWith('Bearer ') && tokens.has(header.slice(7));
  };

  const server = await standInServer(
    async (req, res, url) => {
      const path = url.pathname;
      if (req.method === 'POST' && path === '/oauth/token') {
        const body = await readJson(req);
        if (
          body.grant_type !== 'client_credentials' ||
          body.client_id !== clientId ||
          body.client_secret !== clientSecret
        )
          return json(res, 401, { error: 'access_denied', error_description: 'Unauthorized' });
        if (body.audience !== `https://${domain}/api/v2/`)
          return json(res, 403, {
            error: 'access_denied',
            error_description: 'Service not enabled',
          });
        const token = randomBytes(16).toString('hex');
        tokens.add(token);
        return json(res, 200, {
          access_token: token,
          token_type: 'Bearer',
          expires_in: 86_400,
          scope: 'read:users',
        });
      }
      if (path === '/api/v2/users' && req.method === 'GET') {
        if (!authorised(req)) return json(res, 401, { statusCode: 401, error: 'Unauthorized' });
        const page = Number(url.searchParams.get('page') ?? 0);
        const perPage = Number(url.searchParams.get('per_page') ?? 50);
        if (perPage > 100)
          return json(res, 400, { statusCode: 400, message: 'per_page must be at most 100' });
        const start = page * perPage;
        if (start >= 1_000)
          return json(res, 400, {
            statusCode: 400,
            error: 'Bad Request',
            message: 'You can only page through the first 1000 records.',
          });
        const slice = self.users.slice(start, Math.min(start + perPage, 1_000));
        if (url.searchParams.get('include_totals') !== 'true') return json(res, 200, slice);
        return json(res, 200, {
          start,
          limit: perPage,
          length: slice.length,
          total: self.users.length,
          users: slice,
        });
      }
      if (path === '/api/v2/jobs/users-exports' && req.method === 'POST') {
        if (!authorised(req)) return json(res, 401, { statusCode: 401, error: 'Unauthorized' });
        const body = await readJson(req);
        const id = `job_${randomBytes(8).toString('hex')}`;
        const fields = (body.fields as { name: string }[] | undefined)?.map((field) => field.name);
        const lines = self.users.map((user) => {
          const picked: Record<string, unknown> = {};
          for (const [key, value] of Object.entries(user))
            if (!fields || fields.includes(key)) picked[key] = value;
          return JSON.stringify(picked);
        });
        jobs.set(id, { polls: 0, file: gzipSync(lines.join('\n') + '\n') });
        return json(res, 201, {
          type: 'users_export',
          status: 'pending',
          id,
          format: body.format ?? 'csv',
          fields: body.fields,
          created_at: new Date().toISOString(),
        });
      }
      const job = /^\/api\/v2\/jobs\/(job_[a-f0-9]+)$/.exec(path);
      if (job && req.method === 'GET') {
        if (!authorised(req)) return json(res, 401, { statusCode: 401, error: 'Unauthorized' });
        const found = jobs.get(job[1]);
        if (!found) return json(res, 404, { statusCode: 404, message: 'job not found' });
        found.polls++;
        const done = found.polls > self.pendingPolls;
        return json(res, 200, {
          type: 'users_export',
          status: done ? 'completed' : 'pending',
          id: job[1],
          created_at: new Date().toISOString(),
          ...(done ? { location: `${base}/exports/${job[1]}.json.gz` } : {}),
        });
      }
      const file = /^\/exports\/(job_[a-f0-9]+)\.json\.gz$/.exec(path);
      if (file && req.method === 'GET') {
        const found = jobs.get(file[1]);
        if (!found?.file) return json(res, 404, { message: 'no such export' });
        return res.writeHead(200, { 'content-type': 'application/gzip' }).end(found.file);
      }
      json(res, 404, { statusCode: 404, message: 'Not Found' });
    },
    () => self.delayMs,
  );
  base = server.url;
  return Object.assign(self, {
    url: server.url,
    domain,
    clientId,
    clientSecret,
    seen: server.seen,
    script: server.script,
    close: server.close,
  });
}

/** A Supabase project's Auth admin API (see the top of this file). */
export async function startSupabaseAdminStandIn(
  users: SupabaseUser[] = [],
): Promise<SupabaseAdminStandIn> {
  const serviceRoleKey = `service-role-${randomBytes(12).toString('hex')}`;
  const self = { users, delayMs: 0 } as SupabaseAdminStandIn;
  const server = await standInServer(
    (req, res, url) => {
      if (url.pathname !== '/auth/v1/admin/users' || req.method !== 'GET')
        return json(res, 404, { code: 404, msg: 'Not Found' });
      if (req.headers.apikey !== serviceRoleKey)
        return json(res, 401, { message: 'Invalid API key' });
      if (req.headers.authorization !== `Bearer ${serviceRoleKey}`)
        return json(res, 403, { code: 403, error_code: 'not_admin', msg: 'User not allowed' });
      const page = Math.max(Number(url.searchParams.get('page') ?? 1), 1);
      const perPage = Number(url.searchParams.get('per_page') ?? 50);
      const slice = self.users.slice((page - 1) * perPage, page * perPage).map((user) => ({
        aud: 'authenticated',
        role: 'authenticated',
        app_metadata: { provider: 'email', providers: ['email'] },
        user_metadata: {},
        created_at: new Date(0).toISOString(),
        ...user,
      }));
      const lastPage = Math.max(Math.ceil(self.users.length / perPage), 1);
      const link = (to: number, rel: string) =>
        `</admin/users?page=${to}&per_page=${perPage}>; rel="${rel}"`;
      const links = [...(page < lastPage ? [link(page + 1, 'next')] : []), link(lastPage, 'last')];
      return json(
        res,
        200,
        { users: slice, aud: 'authenticated' },
        { 'x-total-count': String(self.users.length), link: links.join(', ') },
      );
    },
    () => self.delayMs,
  );
  return Object.assign(self, {
    url: server.url,
    serviceRoleKey,
    seen: server.seen,
    script: server.script,
    close: server.close,
  });
}
