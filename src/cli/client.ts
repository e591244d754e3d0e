import type { ServiceView, TransitionView } from '../plugins/traffic/index.js';
import type { PackedRelease } from './pack.js';
import { putFile } from './upload.js';

/** An uploaded release as the gateway records it. */
export interface StoredRelease {
  version: string;
  size: number;
  sha256: string;
  uploadedAt: string;
  created: boolean;
  pruned: string[];
}

/** The frontend's release as the static plugin lists it. */
export interface FrontendRelease {
  version: string;
  active: boolean;
  previous: boolean;
  size?: number;
  sha256?: string;
  uploadedAt?: string;
}

/** A failure the CLI reports and exits with: 1 for refused commands, 2 when the gateway cannot be reached. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
    readonly problem?: { status: number; code?: string; detail?: string },
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ClientOptions {
  url: string;
  /** Sent as `Authorization: Bearer`: an API key or the gateway's MANAGEMENT_TOKEN. Wins over `password`. */
  token?: string;
  user?: string;
  password?: string;
  /** Per request. Default 10 000 ms. */
  timeout?: number;
  /** Per release upload. Default 600 000 ms. */
  uploadTimeout?: number;
}

const TRAFFIC = '/cpanel/api/traffic';
const FRONTEND = '/api/static/releases';

/**
 * The gateway's traffic API, with a bearer token (QWICKAPPS_TOKEN) or Basic credentials
 * (ADMIN_USER / ADMIN_PASSWORD). Neither is ever part of a message it throws.
 */
export class TrafficClient {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.replace(/\/$/, '');
  }

  status(service?: string): Promise<{ services: ServiceView[] }> {
    return this.call('GET', service === undefined ? '' : `?service=${encodeURIComponent(service)}`);
  }

  service(name: string): Promise<ServiceView> {
    return this.status(name).then((answer) => answer.services[0]);
  }

  /** The service as a deploy follows it: what a key that may deploy it may read. */
  deployProgress(service: string): Promise<ServiceView> {
    return this.call('GET', `/deploy?service=${encodeURIComponent(service)}`);
  }

  deploy(service: string, version: string, force: boolean): Promise<ServiceView> {
    return this.call('POST', '/deploy', { service, version, ...(force ? { force } : {}) });
  }

  command(name: 'promote' | 'rollback' | 'abort', service: string): Promise<ServiceView> {
    return this.call('POST', `/${name}`, { service });
  }

  history(service: string | undefined, limit: number): Promise<{ transitions: TransitionView[] }> {
    const query = new URLSearchParams({
      limit: String(limit),
      ...(service === undefined ? {} : { service }),
    });
    return this.call('GET', `/history?${query}`);
  }

  /** Streams a packed release to the service's releases (`traffic:deploy:<service>`). */
  uploadRelease(service: string, version: string, release: PackedRelease): Promise<StoredRelease> {
    return this.upload(
      `${TRAFFIC}/releases/${encodeURIComponent(service)}/${encodeURIComponent(version)}`,
      release,
    );
  }

  releases(service: string): Promise<{
    releases: (Omit<StoredRelease, 'created' | 'pruned'> & { slot?: string; state?: string })[];
  }> {
    return this.call('GET', `/releases/${encodeURIComponent(service)}`);
  }

  /** Streams a packed frontend build to the static plugin's releases (`static:release`). */
  uploadFrontend(version: string, release: PackedRelease): Promise<StoredRelease> {
    return this.upload(`${FRONTEND}/${encodeURIComponent(version)}`, release);
  }

  frontendReleases(): Promise<{ active: string | null; releases: FrontendRelease[] }> {
    return this.send('GET', FRONTEND);
  }

  activateFrontend(version: string): Promise<{ active: string; previous?: string }> {
    return this.send('POST', `${FRONTEND}/${encodeURIComponent(version)}/activate`);
  }

  rollbackFrontend(): Promise<{ active: string; previous?: string }> {
    return this.send('POST', `${FRONTEND}/rollback`);
  }

  private async upload<T>(path: string, release: PackedRelease): Promise<T> {
    const headers = {
      ...this.headers(),
      'content-type': 'application/gzip',
      'content-length': String(release.size),
      'x-release-sha256': release.sha256,
    };
    const answer = await putFile(
      `${this.base}${path}`,
      release.file,
      headers,
      this.options.uploadTimeout ?? 600_000,
    ).catch((error: NodeJS.ErrnoException) => {
      throw this.unreachable(error.code ?? error.message);
    });
    return this.interpret<T>(answer.status, answer.text);
  }

  /** Accept and the credential in use. */
  private headers(): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    else if (this.options.password !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${this.options.user ?? 'admin'}:${this.options.password}`).toString('base64')}`;
    }
    return headers;
  }

  private unreachable(cause: string): CliError {
    return new CliError(
      `Cannot reach the gateway at ${this.options.url} (${cause}). Is it running? Set --url or QWICKAPPS_URL.`,
      2,
    );
  }

  /** What to do about a refusal, naming the variable that holds the credential in use. */
  private hintFor(status: number): string {
    const withToken = this.options.token !== undefined;
    if (status === 401)
      return withToken
        ? ' Check QWICKAPPS_TOKEN (or --token): the key may be revoked, expired or mistyped.'
        : ' Set QWICKAPPS_TOKEN (or --token), or ADMIN_USER and ADMIN_PASSWORD.';
    if (status === 403)
      return withToken
        ? ' The key in QWICKAPPS_TOKEN (or --token) lacks that permission: give it a key with that scope.'
        : ' Use credentials that may do this: QWICKAPPS_TOKEN with a key of that scope, or an admin in ADMIN_USER and ADMIN_PASSWORD.';
    return '';
  }

  /** A call to the traffic API (`path` under /cpanel/api/traffic), with a JSON body if any. */
  private call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return this.send(
      method,
      `${TRAFFIC}${path}`,
      body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
    );
  }

  private async send<T>(
    method: 'GET' | 'POST',
    path: string,
    request: { headers?: Record<string, string>; body?: string } = {},
  ): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: { ...this.headers(), ...request.headers },
        body: request.body,
        signal: AbortSignal.timeout(this.options.timeout ?? 10_000),
      });
    } catch (error) {
      throw this.unreachable(
        (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message,
      );
    }
    return this.interpret<T>(response.status, await response.text());
  }

  /** The parsed answer, or a CliError with the problem's detail, code and what to do. */
  private interpret<T>(status: number, text: string): T {
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new CliError(
        `The gateway at ${this.options.url} answered ${status} with something that is not JSON; is --url pointing at a qwickapps gateway?`,
        1,
      );
    }
    if (status >= 200 && status < 300) return parsed as T;
    const problem = (parsed ?? {}) as { code?: string; detail?: string; title?: string };
    const hint = this.hintFor(status);
    throw new CliError(
      `${problem.detail ?? problem.title ?? `HTTP ${status}`}${problem.code ? ` [${problem.code}]` : ''}${hint}`,
      1,
      { status, code: problem.code, detail: problem.detail },
    );
  }
}
