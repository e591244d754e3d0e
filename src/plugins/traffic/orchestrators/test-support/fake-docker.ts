import http from 'node:http';
import path from 'node:path';

interface FakeContainer {
  Id: string;
  Name: string;
  Image: string;
  Env: string[];
  Labels: Record<string, string>;
  PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
  RestartPolicy: { Name: string };
  State: {
    Status: 'created' | 'running' | 'exited';
    Running: boolean;
    ExitCode: number;
    Pid: number;
  };
}

/**
 * A stand-in for the Docker Engine API on a unix socket, for what a real dockerd cannot be made
 * to do on cue in a test (drop its event stream, refuse a pull for want of credentials). Its
 * answers are the ones dockerd 20.10 gave on this machine: `GET /version` unversioned, API 1.41
 * at most (a newer prefix is a 400), 201 create, 409 name conflict, 404 no such container or
 * image, 204 start/stop, 304 already started/stopped, a refused pull as a 500 before any
 * progress, a failure during the download inside the 200 progress stream, and a `die` event on
 * `GET /events` whenever a container stops running.
 */
export class FakeDocker {
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Set<string>();
  readonly requests: { method: string; path: string; auth?: string }[] = [];
  readonly socketPath: string;
  private readonly events = new Set<http.ServerResponse>();
  private server?: http.Server;
  private nextId = 1;

  constructor(directory: string) {
    this.socketPath = path.join(directory, 'docker.sock');
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.socketPath, resolve));
    return this;
  }

  close(): Promise<void> {
    this.dropEvents();
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  find(nameOrId: string): FakeContainer | undefined {
    return [...this.containers.values()].find(
      (container) => container.Name === `/${nameOrId}` || container.Id === nameOrId,
    );
  }

  /** Ends every event stream, as a restarting dockerd does. */
  dropEvents(): void {
    for (const stream of this.events) stream.destroy();
    this.events.clear();
  }

  get eventStreams(): number {
    return this.events.size;
  }

  /** The container's process exits on its own. */
  crash(name: string, code = 137): void {
    this.exit(this.find(name)!, code);
  }

  private exit(container: FakeContainer, code: number): void {
    container.State = { Status: 'exited', Running: false, ExitCode: code, Pid: 0 };
    const event = {
      status: 'die',
      id: container.Id,
      from: container.Image,
      Type: 'container',
      Action: 'die',
      Actor: {
        ID: container.Id,
        Attributes: { ...container.Labels, exitCode: String(code), name: container.Name.slice(1) },
      },
      scope: 'local',
      time: Math.floor(Date.now() / 1000),
      timeNano: Date.now() * 1_000_000,
    };
    for (const stream of this.events) stream.write(`${JSON.stringify(event)}\n`);
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://docker');
      const auth = req.headers['x-registry-auth'];
      this.requests.push({
        method: req.method!,
        path: url.pathname + url.search,
        ...(typeof auth === 'string' ? { auth } : {}),
      });
      const versioned = /^\/v(\d+)\.(\d+)(\/.*)$/.exec(url.pathname);
      if (versioned && (Number(versioned[1]) > 1 || Number(versioned[2]) > 41))
        return this.json(res, 400, {
          message: `client version ${versioned[1]}.${versioned[2]} is too new. Maximum supported API version is 1.41`,
        });
      const route = versioned ? versioned[3] : url.pathname;
      if (route === '/version' && req.method === 'GET')
        return this.json(res, 200, {
          Version: '20.10.24+dfsg1',
          ApiVersion: '1.41',
          MinAPIVersion: '1.12',
          Os: 'linux',
        });
      if (route === '/events' && req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        this.events.add(res);
        res.on('close', () => this.events.delete(res));
        return;
      }
      if (route === '/images/create' && req.method === 'POST') {
        const fromImage = url.searchParams.get('fromImage')!;
        const tag = url.searchParams.get('tag')!;
        const image = `${fromImage}${tag.startsWith('sha256:') ? '@' : ':'}${tag}`;
        // As dockerd 20.10 answers a registry that wants credentials it was not given.
        if (image.includes('private') && typeof auth !== 'string')
          return this.json(res, 500, {
            message: `Get "http://${fromImage.split('/')[0]}/v2/${fromImage.split('/').slice(1).join('/')}/manifests/${tag}": no basic auth credentials`,
          });
        res.writeHead(200, { 'content-type': 'application/json' });
        // A failure once the pull is under way comes inside the progress stream, still a 200.
        if (image.includes('truncated'))
          return res.end(
            `{"status":"Pulling from ${fromImage}"}\n{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}\n`,
          );
        this.images.add(image);
        return res.end(
          `{"status":"Pulling from ${fromImage}"}\n{"status":"Status: Downloaded newer image for ${image}"}\n`,
        );
      }
      const imageInspect = /^\/images\/(.+)\/json$/.exec(route);
      if (imageInspect && req.method === 'GET')
        return this.images.has(imageInspect[1])
          ? this.json(res, 200, { Id: `sha256:${'f'.repeat(64)}`, RepoTags: [imageInspect[1]] })
          : this.json(res, 404, { message: `No such image: ${imageInspect[1]}` });
      if (route === '/containers/create' && req.method === 'POST')
        return this.create(url, raw, res);
      const action = /^\/containers\/([^/]+)(?:\/(start|stop|json|logs))?$/.exec(route);
      const container = action ? this.find(action[1]) : undefined;
      if (!action) return this.json(res, 404, { message: 'page not found' });
      if (!container) return this.json(res, 404, { message: `No such container: ${action[1]}` });
      switch (`${req.method} ${action[2] ?? ''}`) {
        case 'POST start':
          if (container.State.Running) return void res.writeHead(304).end();
          container.State = { Status: 'running', Running: true, ExitCode: 0, Pid: 4242 };
          return void res.writeHead(204).end();
        case 'POST stop':
          if (!container.State.Running) return void res.writeHead(304).end();
          this.exit(container, 0);
          return void res.writeHead(204).end();
        case 'GET json':
          return this.json(res, 200, {
            Id: container.Id,
            Name: container.Name,
            State: container.State,
            Config: { Image: container.Image, Env: container.Env, Labels: container.Labels },
            HostConfig: {
              PortBindings: container.PortBindings,
              RestartPolicy: container.RestartPolicy,
            },
          });
        case 'DELETE ':
          if (container.State.Running && url.searchParams.get('force') !== 'true')
            return this.json(res, 409, {
              message:
                'You cannot remove a running container. Stop the container before attempting removal or force remove',
            });
          if (container.State.Running) this.exit(container, 137);
          this.containers.delete(container.Id);
          return void res.writeHead(204).end();
      }
      this.json(res, 404, { message: 'page not found' });
    });
  }

  private create(url: URL, raw: string, res: http.ServerResponse): void {
    const name = url.searchParams.get('name')!;
    if (this.find(name))
      return this.json(res, 409, {
        message: `Conflict. The container name "/${name}" is already in use by container "${this.find(name)!.Id}". You have to remove (or rename) that container to be able to reuse that name.`,
      });
    const body = JSON.parse(raw) as {
      Image: string;
      Env: string[];
      Labels: Record<string, string>;
      HostConfig: { PortBindings: FakeContainer['PortBindings']; RestartPolicy: { Name: string } };
    };
    if (!this.images.has(body.Image))
      return this.json(res, 404, { message: `No such image: ${body.Image}` });
    const Id = `c${String(this.nextId++).padStart(63, '0')}`;
    this.containers.set(Id, {
      Id,
      Name: `/${name}`,
      Image: body.Image,
      Env: body.Env,
      Labels: body.Labels,
      PortBindings: body.HostConfig.PortBindings,
      RestartPolicy: body.HostConfig.RestartPolicy,
      State: { Status: 'created', Running: false, ExitCode: 0, Pid: 0 },
    });
    this.json(res, 201, { Id, Warnings: null });
  }
}
