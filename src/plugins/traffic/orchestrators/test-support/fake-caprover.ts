import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface FakeApp {
  appName: string;
  hasPersistentData: boolean;
  instanceCount: number;
  containerHttpPort?: number;
  envVars: { key: string; value: string }[];
  deployedImages: string[];
  deployedVersion: number;
}

/**
 * A stand-in for CapRover's `/api/v2`: every answer is HTTP 200 with `{ status, description,
 * data }`; 100 OK, 101 deploy started, 1103 already exists, 1105 wrong password, 1106 invalid
 * token, 1111 not found. Auth with `x-captain-auth` from `POST /api/v2/login`.
 */
export class FakeCaprover {
  readonly apps = new Map<string, FakeApp>();
  readonly requests: { method: string; path: string; namespace?: string }[] = [];
  token = 'token-1';
  logins = 0;
  private server?: http.Server;
  url = '';

  constructor(private readonly password: string) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private answer(
    res: http.ServerResponse,
    status: number,
    description: string,
    data: unknown = {},
  ): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status, description, data }));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://captain');
      this.requests.push({
        method: req.method!,
        path: url.pathname + url.search,
        namespace: req.headers['x-namespace'] as string | undefined,
      });
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      if (url.pathname === '/api/v2/login' && req.method === 'POST') {
        if (body.password !== this.password)
          return this.answer(res, 1105, 'Password is incorrect.');
        this.logins++;
        return this.answer(res, 100, 'Login succeeded', { token: this.token });
      }
      if (!url.pathname.startsWith('/api/v2/user/')) return void res.writeHead(404).end();
      if (req.headers['x-captain-auth'] !== this.token)
        return this.answer(res, 1106, 'Auth token corrupted');
      const path = url.pathname.slice('/api/v2/user'.length);
      if (path === '/apps/appDefinitions' && req.method === 'GET') {
        return this.answer(res, 100, 'App definitions are retrieved.', {
          appDefinitions: [...this.apps.values()].map(({ deployedImages: _images, ...app }) => app),
          rootDomain: 'captain.example.com',
        });
      }
      if (path === '/apps/appDefinitions/register' && req.method === 'POST') {
        const appName = String(body.appName);
        if (this.apps.has(appName)) return this.answer(res, 1103, `App already exists: ${appName}`);
        this.apps.set(appName, {
          appName,
          hasPersistentData: Boolean(body.hasPersistentData),
          instanceCount: 1,
          envVars: [],
          deployedImages: [],
          deployedVersion: 0,
        });
        return this.answer(res, 100, 'App Definition Saved');
      }
      if (path === '/apps/appDefinitions/update' && req.method === 'POST') {
        const app = this.apps.get(String(body.appName));
        if (!app) return this.answer(res, 1111, `App not found: ${String(body.appName)}`);
        if (typeof body.instanceCount === 'number') app.instanceCount = body.instanceCount;
        if (typeof body.containerHttpPort === 'number')
          app.containerHttpPort = body.containerHttpPort;
        if (Array.isArray(body.envVars)) app.envVars = body.envVars as FakeApp['envVars'];
        return this.answer(res, 100, 'Updated App Definition Saved');
      }
      const deploy = /^\/apps\/appData\/([^/]+)$/.exec(path);
      if (deploy && req.method === 'POST') {
        const app = this.apps.get(decodeURIComponent(deploy[1]));
        if (!app) return this.answer(res, 1111, 'App not found');
        if (typeof body.captainDefinitionContent !== 'string')
          return this.answer(
            res,
            1108,
            'Either tarballfile or captainDefinitionContent should be present.',
          );
        const definition = JSON.parse(body.captainDefinitionContent) as {
          schemaVersion: number;
          imageName?: string;
        };
        if (definition.schemaVersion !== 2 || !definition.imageName)
          return this.answer(res, 1110, 'captain-definition is invalid');
        app.deployedImages.push(definition.imageName);
        app.deployedVersion++;
        return url.searchParams.get('detached')
          ? this.answer(res, 101, 'Deploy is started')
          : this.answer(res, 100, 'Deploy is done');
      }
      const logs = /^\/apps\/appData\/([^/]+)\/logs$/.exec(path);
      if (logs && req.method === 'GET') {
        const app = this.apps.get(decodeURIComponent(logs[1]));
        if (!app) return this.answer(res, 1111, 'App not found');
        return this.answer(res, 100, 'App runtime logs are retrieved', {
          logs: app.deployedImages.map((image) => `started ${image}`).join('\n'),
        });
      }
      res.writeHead(404).end();
    });
  }
}
