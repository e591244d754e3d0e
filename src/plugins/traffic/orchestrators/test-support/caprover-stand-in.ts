import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  StandInService,
  type EnvVar,
  type ImageSpec,
  type PortMapping,
} from './caprover-containers.js';
import {
  normalizeUpdate,
  registeredApp,
  UPDATABLE,
  type StoredApp,
} from './caprover-definitions.js';

/** CapRover's status codes (src/api/ApiStatusCodes.ts in its server). */
export const STATUS = {
  OK: 100,
  DEPLOY_STARTED: 101,
  GENERIC: 1000,
  ALREADY_EXISTS: 1103,
  BAD_NAME: 1104,
  WRONG_PASSWORD: 1105,
  AUTH_TOKEN_INVALID: 1106,
  ILLEGAL_OPERATION: 1108,
  BUILD_ERROR: 1109,
  ILLEGAL_PARAMETER: 1110,
} as const;

export interface StandInOptions {
  password: string;
  /** The images the stand-in's registry holds; an unknown image fails its deploy, as a pull would. */
  images: (image: string) => ImageSpec | undefined;
  /** The CapRover version it plays: PATCH on update exists from 1.15.0. Default 1.15.3. */
  version?: string;
  /** How long a build (pulling the image) takes. Default 50 ms. */
  buildTime?: number;
  /** Swarm's delay before restarting a crashed container. Default 200 ms. */
  restartDelay?: number;
}

interface App {
  definition: StoredApp;
  deployedImages: string[];
  build: { building: boolean; failed: boolean; lines: string[] };
  service: StandInService;
}

class CaptainFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A stand-in for a CapRover server (`/api/v2`), following its source: HTTP 200 answers
 * `{ status, description, data }`; `x-namespace` must be `captain` (or absent); `POST /login`
 * issues an `x-captain-auth` token that stops working when `expireTokens()` is called (1106);
 * one change at a time per namespace, others refused with HTTP 429; `POST
 * /user/apps/appDefinitions/update` replaces the whole definition, PATCH (1.15+) merges; deploys
 * with `?detached=1` answer 101 and build one at a time, their progress at `GET
 * /user/apps/appData/{app}`; `.../logs` is Docker's framed log stream. Each app's service really
 * runs (see `StandInService`), so a gateway can route to its published ports.
 */
export class CaproverStandIn {
  readonly apps = new Map<string, App>();
  readonly requests: { method: string; path: string; namespace?: string; body?: unknown }[] = [];
  logins = 0;
  url = '';
  private readonly tokens = new Map<string, number>();
  private tokenGeneration = 1;
  private busy = false;
  private builds: Promise<void> = Promise.resolve();
  private server?: http.Server;

  /** The registry's images; a test may swap it (an image that disappears). */
  images: StandInOptions['images'];

  constructor(private readonly options: StandInOptions) {
    this.images = options.images;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    await Promise.all([...this.apps.values()].map((app) => app.service.close()));
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** A token as `POST /login` would give (for gateways configured with a token). */
  issueToken(): string {
    const token = randomBytes(16).toString('hex');
    this.tokens.set(token, this.tokenGeneration);
    return token;
  }

  /** Every token issued so far stops working, as after a password change or expiry. */
  expireTokens(): void {
    this.tokenGeneration++;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url!, 'http://captain');
    const path = url.pathname.replace(/\/+$/, '');
    let body: Record<string, unknown> = {};
    try {
      if (chunks.length > 0) body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return void res.writeHead(400).end('Bad Request');
    }
    const namespace = req.headers['x-namespace'] as string | undefined;
    this.requests.push({ method: req.method!, path: url.pathname + url.search, namespace, body });
    if (!path.startsWith('/api/v2/')) return void res.writeHead(404).end('Not Found');
    if ((namespace ?? 'captain') !== 'captain')
      return this.send(res, STATUS.GENERIC, 'Namespace unknown');
    const route = path.slice('/api/v2'.length);
    if (route === '/login' && req.method === 'POST') return this.login(res, body);
    if (!route.startsWith('/user/')) return void res.writeHead(404).end('Not Found');
    const token = String(req.headers['x-captain-auth'] ?? '');
    const generation = this.tokens.get(token);
    if (generation === undefined)
      return this.send(res, STATUS.AUTH_TOKEN_INVALID, 'Auth token corrupted');
    if (generation !== this.tokenGeneration)
      return this.send(
        res,
        STATUS.AUTH_TOKEN_INVALID,
        'Auth token is no longer valid. Request for a new auth token',
      );
    if (req.method !== 'GET') {
      if (this.busy)
        return void res.writeHead(429).end('Another operation still in progress... please wait...');
      this.busy = true;
      res.once('close', () => (this.busy = false));
    }
    try {
      const answer = await this.user(req.method!, route.slice('/user'.length), url, body);
      if (answer === undefined) return void res.writeHead(404).end('Not Found');
      this.send(res, answer.status ?? STATUS.OK, answer.description, answer.data);
    } catch (error) {
      // CapRover answers errors that are not its own with a bare HTTP 500.
      if (!(error instanceof CaptainFailure))
        return void res.writeHead(500).end('Internal Server Error');
      this.send(res, error.status, error.message);
    }
  }

  private login(res: http.ServerResponse, body: Record<string, unknown>): void {
    const password = String(body.password ?? '');
    if (!password) return this.send(res, STATUS.GENERIC, 'password is empty.');
    if (password !== this.options.password)
      return this.send(res, STATUS.WRONG_PASSWORD, 'Password is incorrect.');
    this.logins++;
    this.send(res, STATUS.OK, 'Login succeeded', { token: this.issueToken() });
  }

  private async user(
    method: string,
    route: string,
    url: URL,
    body: Record<string, unknown>,
  ): Promise<{ status?: number; description: string; data?: unknown } | undefined> {
    if (route === '/apps/appDefinitions' && method === 'GET') {
      const appDefinitions = [...this.apps].map(([appName, app]) => ({
        ...structuredClone(app.definition),
        appName,
        isAppBuilding: app.build.building,
        isLegacyAppName: false,
      }));
      return {
        description: 'App definitions are retrieved.',
        data: {
          appDefinitions,
          rootDomain: 'captain.localhost',
          captainSubDomain: 'captain',
          defaultNginxConfig: '',
        },
      };
    }
    if (route === '/apps/appDefinitions/register' && method === 'POST') return this.register(body);
    if (route === '/apps/appDefinitions/update' && method === 'POST') {
      this.update(this.app(body.appName), body);
      return { description: 'Updated App Definition Saved' };
    }
    if (route === '/apps/appDefinitions/update' && method === 'PATCH' && this.hasPatch()) {
      if (!body.appName)
        return { status: STATUS.ILLEGAL_PARAMETER, description: 'appName is required' };
      const app = this.app(body.appName);
      const merged: Record<string, unknown> = { appName: body.appName };
      for (const field of UPDATABLE)
        merged[field] = field in body ? body[field] : app.definition[field];
      this.update(app, merged);
      return { description: 'Updated App Definition Saved' };
    }
    const logs = /^\/apps\/appData\/([^/]+)\/logs$/.exec(route);
    if (logs && method === 'GET') {
      const app = this.app(decodeURIComponent(logs[1]));
      const encoding = (url.searchParams.get('encoding') ?? 'ascii') as BufferEncoding;
      return {
        description: 'App runtime logs are retrieved',
        data: { logs: app.service.logStream().toString(encoding) },
      };
    }
    const appData = /^\/apps\/appData\/([^/]+)$/.exec(route);
    if (appData && method === 'GET') {
      const build = this.apps.get(decodeURIComponent(appData[1]))?.build;
      return {
        description: 'App build status retrieved',
        data: {
          isAppBuilding: build?.building ?? false,
          isBuildFailed: build?.failed ?? false,
          logs: { lines: [...(build?.lines ?? [])], firstLineNumber: 0 },
        },
      };
    }
    if (appData && method === 'POST')
      return this.deploy(this.app(decodeURIComponent(appData[1])), url, body);
    return undefined;
  }

  private register(body: Record<string, unknown>) {
    const appName = String(body.appName ?? '');
    if (
      !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(appName) ||
      appName.length >= 50 ||
      appName.includes('--')
    )
      throw new CaptainFailure(
        STATUS.BAD_NAME,
        'App Name is not allowed. Only lowercase letters, numbers and single hyphens are allowed',
      );
    if (this.apps.has(appName))
      throw new CaptainFailure(
        STATUS.ALREADY_EXISTS,
        'App Name already exists. Please use a different name',
      );
    this.apps.set(appName, {
      definition: registeredApp(Boolean(body.hasPersistentData)),
      deployedImages: [],
      build: { building: false, failed: false, lines: [] },
      service: new StandInService(appName, this.options.restartDelay ?? 200),
    });
    return { description: 'App Definition Saved' };
  }

  private update(app: App, body: Record<string, unknown>): void {
    Object.assign(app.definition, normalizeUpdate(body));
    void this.converge(app);
  }

  private deploy(app: App, url: URL, body: Record<string, unknown>) {
    const content = String(body.captainDefinitionContent ?? '');
    if (!content)
      throw new CaptainFailure(
        STATUS.ILLEGAL_OPERATION,
        'Either uploadedTarPathSource or captainDefinitionContent should be provided, but not both.',
      );
    app.build = { building: true, failed: false, lines: [] };
    const built = (this.builds = this.builds.then(() =>
      this.build(app, content, String(body.gitHash ?? '')),
    ));
    if (url.searchParams.get('detached'))
      return { status: STATUS.DEPLOY_STARTED, description: 'Deploy is started' };
    return built.then(() => {
      if (app.build.failed)
        throw new CaptainFailure(STATUS.BUILD_ERROR, app.build.lines.at(-1) ?? 'Build failed');
      return { description: 'Deploy is done' };
    });
  }

  private async build(app: App, content: string, gitHash: string): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.options.buildTime ?? 50));
    const { lines } = app.build;
    const fail = (error: string) => {
      lines.push('----------------------', 'Deploy failed!', error);
      app.build = { building: false, failed: true, lines };
    };
    let imageName: string | undefined;
    try {
      const definition = JSON.parse(content) as { schemaVersion?: number; imageName?: string };
      if (definition.schemaVersion === 2) imageName = definition.imageName;
    } catch {}
    if (!imageName)
      return fail('Error: captain-definition file has no schemaVersion 2 and imageName');
    lines.push(`Pulling ${imageName}`);
    if (!this.images(imageName))
      return fail(
        `Error: (HTTP code 404) unexpected - manifest for ${imageName} not found: manifest unknown`,
      );
    const version = app.definition.versions.length;
    app.definition.versions.push({
      version,
      deployedImageName: imageName,
      timeStamp: new Date().toISOString(),
      gitHash,
    });
    app.definition.deployedVersion = version;
    app.deployedImages.push(imageName);
    lines.push(`Deployed ${imageName} as version ${version}`);
    app.build = { building: false, failed: false, lines };
    await this.converge(app);
  }

  /** The app's service follows its definition and deployed image, as CapRover updates it. */
  private converge(app: App): Promise<void> {
    const { definition } = app;
    const image = app.deployedImages.at(-1);
    const spec = image === undefined ? undefined : this.images(image);
    return app.service.apply(
      spec && {
        image: spec,
        envVars: definition.envVars as EnvVar[],
        instanceCount: definition.instanceCount,
        ports: definition.ports as PortMapping[],
      },
    );
  }

  private app(name: unknown): App {
    const app = this.apps.get(String(name));
    if (!app)
      throw new CaptainFailure(
        STATUS.GENERIC,
        `App (${String(name)}) could not be found. Make sure that you have created the app.`,
      );
    return app;
  }

  private hasPatch(): boolean {
    const [major, minor] = (this.options.version ?? '1.15.3').split('.').map(Number);
    return major > 1 || (major === 1 && minor >= 15);
  }

  private send(
    res: http.ServerResponse,
    status: number,
    description: string,
    data: unknown = {},
  ): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status, description, data }));
  }
}
