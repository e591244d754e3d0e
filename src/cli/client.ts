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
  user?: string;
  password?: string;
  /** Per request. Default 10 000 ms. */
  timeout?: number;
}

/** The gateway's traffic API, with Basic credentials from ADMIN_USER / ADMIN_PASSWORD. */
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

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.password !== undefined) {
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
    const hint = response.status === 401 ? ' Set ADMIN_USER and ADMIN_PASSWORD.' : '';
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
