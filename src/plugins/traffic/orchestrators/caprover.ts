import type { Logger } from 'pino';
import { errorMessage } from '../../../core/errors.js';
import { fillTemplate, type CaproverOrchestratorConfig } from './options.js';
import type { Orchestrator, ReleaseSpec, ServiceLayout, SlotRef, SlotRuntime } from './types.js';

/** CapRover answers HTTP 200 with its own status: 100 OK, 101 deploy started, 1000+ errors. */
interface CaptainAnswer<T> {
  status: number;
  description?: string;
  data?: T;
}

const OK = 100;
const DEPLOY_STARTED = 101;
const AUTH_TOKEN_INVALID = 1106;

interface AppDefinition {
  appName: string;
  instanceCount?: number;
  deployedVersion?: number;
}

/**
 * One CapRover app per slot (`api-slot-b`), deployed from an image through CapRover's API
 * (`/api/v2`): register the app once, set its port, environment and instance count, then deploy
 * a captain definition naming the image. Stopping scales the app to zero instances. Calls carry
 * the configured token, or one from logging in with the password (renewed when refused).
 */
export class CaproverOrchestrator implements Orchestrator {
  readonly type = 'caprover';
  private token?: string;

  constructor(
    private readonly config: CaproverOrchestratorConfig,
    private readonly layout: readonly ServiceLayout[],
    private readonly logger: Logger,
  ) {
    this.token = config.token;
  }

  async start(release: ReleaseSpec): Promise<{ target: string }> {
    const appName = this.appName(release);
    const image = fillTemplate(
      this.layout.find((entry) => entry.name === release.service)?.image ?? this.config.image,
      { ...release },
    );
    const apps = await this.apps();
    if (!apps.some((app) => app.appName === appName)) {
      await this.call('POST', '/user/apps/appDefinitions/register', {
        appName,
        hasPersistentData: false,
      });
      this.logger.info({ app: appName }, 'caprover app registered');
    }
    const values = { ...release, app: appName, port: this.config.containerPort };
    const envVars = Object.entries(this.config.env).map(([key, value]) => ({
      key,
      value: fillTemplate(value, values),
    }));
    envVars.push({ key: 'PORT', value: String(this.config.containerPort) });
    await this.call('POST', '/user/apps/appDefinitions/update', {
      appName,
      instanceCount: 1,
      containerHttpPort: this.config.containerPort,
      notExposeAsWebApp: true,
      envVars,
    });
    const definition = JSON.stringify({ schemaVersion: 2, imageName: image });
    await this.call('POST', `/user/apps/appData/${encodeURIComponent(appName)}?detached=1`, {
      captainDefinitionContent: definition,
      gitHash: '',
    });
    this.logger.info({ app: appName, image }, 'caprover deploy started');
    return { target: fillTemplate(this.config.targetTemplate, values) };
  }

  async stop(ref: SlotRef): Promise<void> {
    const appName = this.appName(ref);
    if (!(await this.apps()).some((app) => app.appName === appName)) return;
    await this.call('POST', '/user/apps/appDefinitions/update', { appName, instanceCount: 0 });
  }

  async status(ref: SlotRef): Promise<SlotRuntime> {
    const app = (await this.apps()).find((entry) => entry.appName === this.appName(ref));
    if (!app) return { state: 'stopped', detail: 'no such app' };
    if ((app.instanceCount ?? 0) === 0)
      return { state: 'stopped', detail: 'scaled to 0 instances' };
    return {
      state: 'running',
      detail: `${app.instanceCount} instance(s), deployed version ${app.deployedVersion ?? '?'}`,
    };
  }

  async logs(ref: SlotRef, limit: number): Promise<string[]> {
    const data = await this.call<{ logs?: string }>(
      'GET',
      `/user/apps/appData/${encodeURIComponent(this.appName(ref))}/logs`,
    );
    return (data?.logs ?? '')
      .split('\n')
      .filter((line) => line !== '')
      .slice(-limit);
  }

  onExit(): void {
    // CapRover restarts crashed containers itself; failures show in the health checks.
  }

  async close(): Promise<void> {}

  private appName(ref: SlotRef): string {
    return fillTemplate(this.config.appTemplate, { service: ref.service, slot: ref.slot });
  }

  private async apps(): Promise<AppDefinition[]> {
    const data = await this.call<{ appDefinitions?: AppDefinition[] }>(
      'GET',
      '/user/apps/appDefinitions',
    );
    return data?.appDefinitions ?? [];
  }

  private async login(refused?: CaptainAnswer<unknown>): Promise<string> {
    const { password } = this.config;
    if (password === undefined) {
      const why = refused
        ? `CapRover refused the configured token (status ${refused.status}: ${refused.description ?? 'no description'})`
        : 'No CapRover token';
      throw new Error(
        `${why}: set a fresh orchestrator.token (CAPROVER_TOKEN), or orchestrator.password so the gateway logs in itself.`,
      );
    }
    const answer = await this.send<{ token: string }>('POST', '/login', { password });
    if (answer.status !== OK || !answer.data?.token)
      throw new Error(`CapRover login failed: ${answer.description ?? `status ${answer.status}`}`);
    return answer.data.token;
  }

  /** One API call; a token CapRover no longer accepts is renewed once. */
  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<T | undefined> {
    this.token ??= await this.login();
    let answer = await this.send<T>(method, path, body, this.token);
    if (answer.status === AUTH_TOKEN_INVALID) {
      this.token = await this.login(answer);
      answer = await this.send<T>(method, path, body, this.token);
    }
    if (answer.status !== OK && answer.status !== DEPLOY_STARTED) {
      throw new Error(
        `CapRover ${method} ${path} failed (status ${answer.status}): ${answer.description ?? 'no description'}`,
      );
    }
    return answer.data;
  }

  private async send<T>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<CaptainAnswer<T>> {
    const headers: Record<string, string> = { 'x-namespace': 'captain' };
    if (token) headers['x-captain-auth'] = token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const url = `${this.config.url.replace(/\/$/, '')}/api/v2${path}`;
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.config.requestTimeout),
    }).catch((error: unknown) => {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? errorMessage(error);
      throw new Error(
        `CapRover at ${this.config.url} could not be reached (${method} ${path}: ${cause}); check orchestrator.url (CAPROVER_URL).`,
        { cause: error },
      );
    });
    if (!response.ok)
      throw new Error(`CapRover ${method} ${path} answered HTTP ${response.status}`);
    return (await response.json()) as CaptainAnswer<T>;
  }
}
