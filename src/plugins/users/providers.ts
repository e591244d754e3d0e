import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Auth0SyncConfig, SupabaseSyncConfig, SyncConfig } from './options.js';

const gunzipped = promisify(gunzip);

/** A provider's user as the sync applies it: identity, profile and whether it is blocked. */
export interface ProviderUser {
  subject: string;
  email?: string;
  name?: string;
  avatar?: string;
  disabled: boolean;
}

/**
 * Where a sync stands, saved in the database after each batch: a sync that stopped (an error,
 * a crash, a shutdown) continues from here. `page` counts from the provider's first page.
 */
export interface SyncCursor {
  phase: 'pages' | 'export';
  page: number;
  /** Auth0's `total`, read from the first page. */
  total?: number;
  /** Auth0 export job and the NDJSON lines already applied. */
  jobId?: string;
  line?: number;
}

export interface SyncBatch {
  users: ProviderUser[];
  /** Where to continue after this batch; undefined after the last one. */
  next: SyncCursor | undefined;
}

/** One provider's users, in batches from a cursor on. */
export interface SyncSource {
  /** The issuer its users sign in with, as the auth plugin's adapter makes it. */
  issuer: string;
  batches(from: SyncCursor | undefined, signal: AbortSignal): AsyncGenerator<SyncBatch>;
}

/** A provider request that failed for good (after the retries): the sync stops, resumable. */
export class SyncProviderError extends Error {
  override name = 'SyncProviderError';
}

type Limits = Pick<SyncConfig, 'requestTimeout' | 'maxRetries' | 'maxRetryAfter'>;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(done, ms);
    function done() {
      signal.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal.reason as Error);
    }
    signal.addEventListener('abort', aborted, { once: true });
  });

/**
 * How long a 429 (or 503) asks us to wait: `Retry-After` in seconds or as an HTTP date, else
 * Auth0's `X-RateLimit-Reset` (epoch seconds), else a doubling back-off; never past `max`.
 */
export function retryDelay(response: Response, attempt: number, max: number): number {
  const header = response.headers.get('retry-after');
  let delay: number | undefined;
  if (header !== null) {
    const seconds = Number(header);
    delay = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  } else {
    const reset = Number(response.headers.get('x-ratelimit-reset'));
    if (reset > 0) delay = reset * 1000 - Date.now();
  }
  if (delay === undefined || !Number.isFinite(delay)) delay = 500 * 2 ** attempt;
  return Math.min(Math.max(delay, 0), max);
}

/** A request with a timeout; 429 and 503 waited out and retried, any other failure thrown. */
async function send(
  what: string,
  url: string,
  init: RequestInit,
  limits: Limits,
  signal: AbortSignal,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(url, {
        ...init,
        signal: AbortSignal.any([signal, AbortSignal.timeout(limits.requestTimeout)]),
      });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new SyncProviderError(`${what} failed: ${(error as Error).message}`, { cause: error });
    }
    if ((response.status === 429 || response.status === 503) && attempt < limits.maxRetries) {
      await response.body?.cancel();
      await sleep(retryDelay(response, attempt, limits.maxRetryAfter), signal);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new SyncProviderError(
        `${what} answered ${response.status}${attempt > 0 ? ` after ${attempt} retries` : ''}`,
      );
    }
    return response;
  }
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** Auth0 users pages stop at 1,000 results; past that only an export job reaches every user. */
export const AUTH0_PAGE_LIMIT = 1_000;
const AUTH0_PER_PAGE = 100;

function auth0User(raw: Record<string, unknown>): ProviderUser | undefined {
  const subject = text(raw.user_id);
  if (!subject) return undefined;
  return {
    subject,
    email: text(raw.email),
    name: text(raw.name),
    avatar: text(raw.picture),
    disabled: raw.blocked === true,
  };
}

/**
 * Auth0 through its Management API: a token by client credentials (cached until it expires),
 * `GET /api/v2/users` 100 a page with totals, and past 1,000 users a users-export job whose
 * gzipped NDJSON file is read in batches of 100 lines.
 */
export function auth0Source(config: Auth0SyncConfig): SyncSource {
  const base = (config.managementUrl ?? `https://${config.domain}`).replace(/\/+$/, '');
  const audience = `https://${config.domain}/api/v2/`;
  let token: { value: string; expiresAt: number } | undefined;

  const accessToken = async (signal: AbortSignal): Promise<string> => {
    if (token && token.expiresAt > Date.now()) return token.value;
    const response = await send(
      'Auth0 token request',
      `${base}/oauth/token`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          grant_type: 'client_credentials',
          client_id: config.clientId,
          client_secret: config.clientSecret,
          audience,
        }),
      },
      config,
      signal,
    );
    const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string')
      throw new SyncProviderError('Auth0 token request answered no access_token');
    // A minute early, so a token never expires between its check and its use.
    const lifetime = typeof body.expires_in === 'number' ? body.expires_in : 86_400;
    token = { value: body.access_token, expiresAt: Date.now() + (lifetime - 60) * 1000 };
    return token.value;
  };

  const api = async (what: string, path: string, signal: AbortSignal, init: RequestInit = {}) => {
    const headers = { authorization: `Bearer ${await accessToken(signal)}`, ...init.headers };
    return send(what, `${base}${path}`, { ...init, headers }, config, signal);
  };

  async function* pages(from: SyncCursor, signal: AbortSignal): AsyncGenerator<SyncBatch> {
    let { page, total } = from;
    for (;;) {
      const query = new URLSearchParams({
        page: String(page),
        per_page: String(AUTH0_PER_PAGE),
        include_totals: 'true',
        sort: 'created_at:1',
      });
      const response = await api(`Auth0 users page ${page}`, `/api/v2/users?${query}`, signal);
      const body = (await response.json()) as { users?: unknown; total?: unknown };
      if (!Array.isArray(body.users))
        throw new SyncProviderError(`Auth0 users page ${page} answered no users array`);
      if (typeof body.total === 'number') total = body.total;
      if (page === 0 && total !== undefined && total > AUTH0_PAGE_LIMIT) {
        yield* exportJob({ phase: 'export', page: 0, total }, signal);
        return;
      }
      const users = (body.users as Record<string, unknown>[]).map(auth0User);
      const seen = page * AUTH0_PER_PAGE + users.length;
      const last =
        users.length < AUTH0_PER_PAGE ||
        (total !== undefined && seen >= total) ||
        seen >= AUTH0_PAGE_LIMIT;
      page++;
      yield {
        // A user without an id still counts, as failed, never silently dropped.
        users: users.map((user) => user ?? { subject: '', disabled: false }),
        next: last ? undefined : { phase: 'pages', page, total },
      };
      if (last) return;
    }
  }

  const startJob = async (signal: AbortSignal): Promise<string> => {
    const response = await api('Auth0 users-export job', '/api/v2/jobs/users-exports', signal, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        format: 'json',
        fields: ['user_id', 'email', 'name', 'picture', 'blocked'].map((name) => ({ name })),
      }),
    });
    const job = (await response.json()) as { id?: unknown };
    if (typeof job.id !== 'string') throw new SyncProviderError('Auth0 export job has no id');
    return job.id;
  };

  /** The job's file once it completed, or undefined when the job is gone or failed. */
  const jobFile = async (jobId: string, signal: AbortSignal): Promise<string | undefined> => {
    const deadline = Date.now() + config.exportTimeout;
    for (;;) {
      const response = await api(
        `Auth0 export job ${jobId}`,
        `/api/v2/jobs/${encodeURIComponent(jobId)}`,
        signal,
      ).catch((error: unknown) => {
        // A job id saved by an earlier run may have expired: start another.
        if (error instanceof SyncProviderError && / 404/.test(error.message)) return undefined;
        throw error;
      });
      if (!response) return undefined;
      const job = (await response.json()) as { status?: unknown; location?: unknown };
      if (job.status === 'completed' && typeof job.location === 'string') return job.location;
      if (job.status === 'failed' || job.status === 'expired') return undefined;
      if (Date.now() > deadline)
        throw new SyncProviderError(
          `Auth0 export job ${jobId} did not complete within ${config.exportTimeout} ms`,
        );
      await sleep(config.exportPollInterval, signal);
    }
  };

  async function* exportJob(from: SyncCursor, signal: AbortSignal): AsyncGenerator<SyncBatch> {
    let jobId = from.jobId;
    let line = from.line ?? 0;
    let location = jobId ? await jobFile(jobId, signal) : undefined;
    if (!location) {
      jobId = await startJob(signal);
      // A new export may order users otherwise: read it from its start (applying is idempotent).
      line = 0;
      location = await jobFile(jobId, signal);
      if (!location) throw new SyncProviderError(`Auth0 export job ${jobId} failed`);
    }
    // A pre-signed download: our Management API token must not travel with it.
    const file = await send('Auth0 export download', location, {}, config, signal);
    const lines = (await gunzipped(Buffer.from(await file.arrayBuffer())))
      .toString('utf8')
      .split('\n')
      .filter((entry) => entry.trim() !== '');
    if (line === 0) yield { users: [], next: { phase: 'export', page: 0, jobId, line: 0 } };
    while (line < lines.length) {
      const end = Math.min(line + AUTH0_PER_PAGE, lines.length);
      const users: ProviderUser[] = [];
      for (const entry of lines.slice(line, end)) {
        let raw: unknown;
        try {
          raw = JSON.parse(entry);
        } catch {
          raw = undefined;
        }
        const user =
          raw && typeof raw === 'object' ? auth0User(raw as Record<string, unknown>) : undefined;
        // A line that is no user still counts as failed, not silently dropped.
        users.push(user ?? { subject: '', disabled: false });
      }
      line = end;
      yield {
        users,
        next:
          line < lines.length
            ? { phase: 'export', page: Math.ceil(line / AUTH0_PER_PAGE), jobId, line }
            : undefined,
      };
    }
  }

  return {
    issuer: `https://${config.domain}/`,
    batches(from, signal) {
      return from?.phase === 'export'
        ? exportJob(from, signal)
        : pages(from ?? { phase: 'pages', page: 0 }, signal);
    },
  };
}

function supabaseUser(raw: Record<string, unknown>): ProviderUser | undefined {
  const subject = text(raw.id);
  if (!subject) return undefined;
  const meta = (raw.user_metadata ?? {}) as Record<string, unknown>;
  const bannedUntil = text(raw.banned_until);
  return {
    subject,
    email: text(raw.email),
    name: text(meta.full_name) ?? text(meta.name),
    avatar: text(meta.avatar_url) ?? text(meta.picture),
    disabled: bannedUntil !== undefined && Date.parse(bannedUntil) > Date.now(),
  };
}

/**
 * Supabase through its admin API: `GET /auth/v1/admin/users?page=&per_page=` with the
 * service-role key as `apikey` and bearer, pages from 1 until a short page or a `Link` header
 * without `rel="next"`.
 */
export function supabaseSource(config: SupabaseSyncConfig): SyncSource {
  return {
    issuer: `${config.url}/auth/v1`,
    async *batches(from, signal) {
      let page = Math.max(from?.page ?? 1, 1);
      for (;;) {
        const query = new URLSearchParams({ page: String(page), per_page: String(config.perPage) });
        const response = await send(
          `Supabase users page ${page}`,
          `${config.url}/auth/v1/admin/users?${query}`,
          {
            headers: {
              apikey: config.serviceRoleKey,
              authorization: `Bearer ${config.serviceRoleKey}`,
            },
          },
          config,
          signal,
        );
        const body = (await response.json()) as { users?: unknown };
        if (!Array.isArray(body.users))
          throw new SyncProviderError(`Supabase users page ${page} answered no users array`);
        const link = response.headers.get('link');
        const users = (body.users as Record<string, unknown>[]).map(supabaseUser);
        const last = users.length < config.perPage || (link !== null && !/rel="?next"?/.test(link));
        page++;
        yield {
          users: users.map((user) => user ?? { subject: '', disabled: false }),
          next: last ? undefined : { phase: 'pages', page },
        };
        if (last) return;
      }
    },
  };
}

export function syncSource(config: SyncConfig): SyncSource {
  return config.provider === 'auth0' ? auth0Source(config) : supabaseSource(config);
}
