import type { Logger } from 'pino';
import { errorMessage, HttpError } from '../../../core/errors.js';
import type { CaproverOrchestratorConfig } from './options.js';

/** CapRover answers HTTP 200 with its own status: 100 OK, 101 deploy started, 1000+ errors. */
export interface CaptainAnswer<T> {
  status: number;
  description?: string;
  data?: T;
}

export const CAPTAIN_STATUS = {
  OK: 100,
  DEPLOY_STARTED: 101,
  OK_PARTIALLY: 102,
  WRONG_PASSWORD: 1105,
  AUTH_TOKEN_INVALID: 1106,
  OTP_REQUIRED: 1114,
  PASSWORD_BACK_OFF: 1113,
} as const;

const AUTH_REFUSED = new Set<number>([
  CAPTAIN_STATUS.WRONG_PASSWORD,
  CAPTAIN_STATUS.OTP_REQUIRED,
  CAPTAIN_STATUS.PASSWORD_BACK_OFF,
]);

type Method = 'GET' | 'POST' | 'PATCH';

/**
 * Calls CapRover's `/api/v2` as its dashboard does: `x-namespace: captain` on every call,
 * `x-captain-auth` with the configured token or one from `POST /login`. A token CapRover no
 * longer accepts (1106) is renewed by logging in once; a change refused with HTTP 429 (CapRover
 * makes one change per namespace at a time) is retried. Failures are `HttpError`s with
 * `TRAFFIC_CAPROVER_*` codes and never carry the password or token.
 */
export class CaptainClient {
  private token?: string;

  constructor(
    private readonly config: CaproverOrchestratorConfig,
    private readonly logger: Logger,
  ) {
    this.token = config.token;
  }

  /** One call answering `data`; any status but 100, 101 and 102 throws. */
  async call<T>(method: Method, path: string, body?: unknown): Promise<T | undefined> {
    this.token ??= await this.login();
    let answer = await this.send<T>(method, path, body, this.token);
    if (answer.status === CAPTAIN_STATUS.AUTH_TOKEN_INVALID) {
      this.logger.info({ path }, 'caprover token refused; logging in again');
      this.token = await this.login(answer);
      answer = await this.send<T>(method, path, body, this.token);
    }
    if (
      answer.status !== CAPTAIN_STATUS.OK &&
      answer.status !== CAPTAIN_STATUS.DEPLOY_STARTED &&
      answer.status !== CAPTAIN_STATUS.OK_PARTIALLY
    ) {
      throw new HttpError(
        502,
        answer.status === CAPTAIN_STATUS.AUTH_TOKEN_INVALID
          ? 'TRAFFIC_CAPROVER_AUTH_FAILED'
          : 'TRAFFIC_CAPROVER_ERROR',
        `CapRover ${method} ${path} failed (status ${answer.status}): ${answer.description ?? 'no description'}`,
        { details: { captainStatus: answer.status } },
      );
    }
    return answer.data;
  }

  private async login(refused?: CaptainAnswer<unknown>): Promise<string> {
    const { password } = this.config;
    if (password === undefined) {
      const why = refused
        ? `CapRover refused the configured token (status ${refused.status}: ${refused.description ?? 'no description'})`
        : 'No CapRover token';
      throw new HttpError(
        502,
        'TRAFFIC_CAPROVER_AUTH_FAILED',
        `${why}: set a fresh orchestrator.token (CAPROVER_TOKEN), or orchestrator.password so the gateway logs in itself.`,
      );
    }
    const answer = await this.send<{ token?: string }>('POST', '/login', { password });
    if (answer.status === CAPTAIN_STATUS.OK && answer.data?.token) return answer.data.token;
    throw new HttpError(
      502,
      AUTH_REFUSED.has(answer.status) ? 'TRAFFIC_CAPROVER_AUTH_FAILED' : 'TRAFFIC_CAPROVER_ERROR',
      `CapRover login failed (status ${answer.status}): ${answer.description ?? 'no description'}`,
      { details: { captainStatus: answer.status } },
    );
  }

  private async send<T>(
    method: Method,
    path: string,
    body: unknown,
    token?: string,
  ): Promise<CaptainAnswer<T>> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.request(method, path, body, token);
      if (response.status === 429 && attempt < this.config.busyRetries) {
        await response.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, this.config.pollInterval));
        continue;
      }
      if (!response.ok) {
        const text = (await response.text()).slice(0, 200);
        throw new HttpError(
          502,
          'TRAFFIC_CAPROVER_ERROR',
          `CapRover ${method} ${path} answered HTTP ${response.status}${text ? `: ${text}` : ''}${response.status === 429 ? ` (still busy after ${attempt} retries)` : ''}`,
        );
      }
      return (await response.json()) as CaptainAnswer<T>;
    }
  }

  private async request(
    method: Method,
    path: string,
    body: unknown,
    token?: string,
  ): Promise<Response> {
    const headers: Record<string, string> = { 'x-namespace': 'captain' };
    if (token) headers['x-captain-auth'] = token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(`${this.config.url.replace(/\/$/, '')}/api/v2${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.config.requestTimeout),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? errorMessage(error);
      throw new HttpError(
        502,
        'TRAFFIC_CAPROVER_UNREACHABLE',
        `CapRover at ${this.config.url} could not be reached (${method} ${path}: ${cause}); check orchestrator.url (CAPROVER_URL).`,
        { cause: error },
      );
    }
  }
}
