import type { ServiceView, TransitionView } from '../plugins/traffic/index.js';

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
}

/**
 * The gateway's traffic API, with a bearer token (QWICKAPPS_TOKEN) or Basic credentials
 * (ADMIN_USER / ADMIN_PASSWORD). Neither is ever part of a message it throws.
 */
export class TrafficClient {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = `${options.url.replace(/\/$/, '')}/cpanel/api/traffic`;
  }

  status(service?: string): Promise<{ services: ServiceView[] }> {
    return this.call('GET', service === undefined ? '' : `?service=${encodeURIComponent(service)}`);
  }

  service(name: string): Promise<ServiceView> {
    return this.status(name).then((answer) => answer.services[0]);
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

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    else if (this.options.password !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${this.options.user ?? 'admin'}:${this.options.password}`).toString('base64')}`;
    }
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeout ?? 10_000),
      });
    } catch (error) {
      const cause =
        (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new CliError(
        `Cannot reach the gateway at ${this.options.url} (${cause}). Is it running? Set --url or QWICKAPPS_URL.`,
        2,
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new CliError(
        `The gateway at ${this.options.url} answered ${response.status} with something that is not JSON; is --url pointing at a qwickapps gateway?`,
        1,
      );
    }
    if (response.ok) return parsed as T;
    const problem = (parsed ?? {}) as { code?: string; detail?: string; title?: string };
    const hint = this.hintFor(response.status);
    throw new CliError(
      `${problem.detail ?? problem.title ?? `HTTP ${response.status}`}${problem.code ? ` [${problem.code}]` : ''}${hint}`,
      1,
      {
        status: response.status,
        code: problem.code,
        detail: problem.detail,
      },
    );
  }
}
