import http from 'node:http';
import type { AddressInfo } from 'node:net';

type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    uid?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

/**
 * A small stand-in for the Kubernetes API server, following its documented behaviour for the
 * calls the orchestrator makes: Status objects on errors, 201 on create, 409 AlreadyExists,
 * PUT refused with 409 Conflict unless metadata.resourceVersion matches (422 when missing),
 * merge-patch only with `application/merge-patch+json` (415 otherwise), bearer token auth.
 */
export class FakeKubernetes {
  readonly objects = new Map<string, KubeObject>();
  readonly requests: { method: string; path: string; contentType?: string }[] = [];
  /** Paths whose object another writer changes right after the next GET (a lost update race). */
  readonly interfereAfterGet = new Map<string, number>();
  readonly podLogs = new Map<string, string>();
  private version = 100;
  private server?: http.Server;
  url = '';

  constructor(private readonly token: string) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Marks a deployment's replicas ready, as the controller manager would. */
  markReady(path: string): void {
    const object = this.objects.get(path)!;
    object.status = { readyReplicas: object.spec?.replicas, replicas: object.spec?.replicas };
  }

  private bump(object: KubeObject): void {
    object.metadata.resourceVersion = String(++this.version);
  }

  private status(res: http.ServerResponse, code: number, reason: string, message: string): void {
    this.json(res, code, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
    });
  }

  private json(res: http.ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://kube');
      this.requests.push({
        method: req.method!,
        path: url.pathname + url.search,
        contentType: req.headers['content-type'],
      });
      if (req.headers.authorization !== `Bearer ${this.token}`)
        return this.status(res, 401, 'Unauthorized', 'Unauthorized');
      const body = raw ? (JSON.parse(raw) as KubeObject) : undefined;
      const match =
        /^(\/apis\/apps\/v1|\/api\/v1)\/namespaces\/([^/]+)\/(deployments|services|pods)(?:\/([^/]+))?(\/log)?$/.exec(
          url.pathname,
        );
      if (!match)
        return this.status(
          res,
          404,
          'NotFound',
          'the server could not find the requested resource',
        );
      const [, prefix, namespace, kind, name, log] = match;
      const collection = `${prefix}/namespaces/${namespace}/${kind}`;
      if (kind === 'pods') return this.pods(res, url, name, log !== undefined);
      const path = name ? url.pathname : undefined;
      const stored = path ? this.objects.get(path) : undefined;
      if (req.method === 'GET') {
        if (!stored) return this.status(res, 404, 'NotFound', `${kind} "${name}" not found`);
        const answer = structuredClone(stored);
        if (this.interfereAfterGet.get(path!)) {
          this.interfereAfterGet.set(path!, this.interfereAfterGet.get(path!)! - 1);
          this.bump(stored);
        }
        return this.json(res, 200, answer);
      }
      if (req.method === 'POST' && !name) {
        const target = `${collection}/${body!.metadata.name}`;
        if (this.objects.has(target))
          return this.status(
            res,
            409,
            'AlreadyExists',
            `${kind} "${body!.metadata.name}" already exists`,
          );
        const created = structuredClone(body!);
        created.metadata.uid = `uid-${body!.metadata.name}`;
        this.bump(created);
        this.objects.set(target, created);
        return this.json(res, 201, created);
      }
      if (req.method === 'PUT' && path) {
        if (!stored) return this.status(res, 404, 'NotFound', `${kind} "${name}" not found`);
        if (!body!.metadata.resourceVersion)
          return this.status(
            res,
            422,
            'Invalid',
            'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
          );
        if (body!.metadata.resourceVersion !== stored.metadata.resourceVersion) {
          return this.status(
            res,
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${kind} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          );
        }
        const replaced = structuredClone(body!);
        this.bump(replaced);
        this.objects.set(path, replaced);
        return this.json(res, 200, replaced);
      }
      if (req.method === 'PATCH' && path) {
        if (req.headers['content-type'] !== 'application/merge-patch+json')
          return this.status(
            res,
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format`,
          );
        if (!stored) return this.status(res, 404, 'NotFound', `${kind} "${name}" not found`);
        stored.spec = {
          ...stored.spec,
          ...(body as unknown as { spec?: Record<string, unknown> }).spec,
        };
        this.bump(stored);
        return this.json(res, 200, stored);
      }
      this.status(
        res,
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
    });
  }

  private pods(res: http.ServerResponse, url: URL, name: string | undefined, log: boolean): void {
    if (name && log) {
      const text = this.podLogs.get(name);
      if (text === undefined) return this.status(res, 404, 'NotFound', `pods "${name}" not found`);
      const tail = Number(url.searchParams.get('tailLines') ?? 0);
      const lines = text.split('\n').filter(Boolean);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${(tail ? lines.slice(-tail) : lines).join('\n')}\n`);
      return;
    }
    const selector = Object.fromEntries(
      (url.searchParams.get('labelSelector') ?? '')
        .split(',')
        .filter(Boolean)
        .map((pair) => pair.split('=')),
    );
    const items = [...this.objects.entries()]
      .filter(
        ([path, object]) => path.includes('/deployments/') && Number(object.spec?.replicas) > 0,
      )
      .filter(([, object]) =>
        Object.entries(selector).every(([key, value]) => object.metadata.labels?.[key] === value),
      )
      .map(([, object]) => ({
        metadata: { name: `${object.metadata.name}-7d9f8-abcde`, labels: object.metadata.labels },
      }));
    this.json(res, 200, { kind: 'PodList', apiVersion: 'v1', items });
  }
}
