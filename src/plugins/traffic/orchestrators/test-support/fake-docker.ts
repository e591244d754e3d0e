import http from 'node:http';
import path from 'node:path';

interface FakeContainer {
  Id: string;
  Name: string;
  Image: string;
  Env: string[];
  Labels: Record<string, string>;
  PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
  State: {
    Status: 'created' | 'running' | 'exited';
    Running: boolean;
    ExitCode: number;
    Pid: number;
  };
  output: string[];
}

/** Docker's log framing for a non-TTY container: [stream, 0, 0, 0, size (uint32 BE)] + payload. */
function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/**
 * A stand-in for the Docker Engine API on a unix socket (versioned paths, `/v1.43/...`), with
 * its documented status codes: 201 create, 409 name conflict, 404 no such container or image,
 * 204 start/stop, 304 already started/stopped, pull progress streamed as JSON lines.
 */
export class FakeDocker {
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Set<string>();
  readonly requests: { method: string; path: string }[] = [];
  readonly socketPath: string;
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
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  find(nameOrId: string): FakeContainer | undefined {
    return [...this.containers.values()].find(
      (container) => container.Name === `/${nameOrId}` || container.Id === nameOrId,
    );
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
      this.requests.push({ method: req.method!, path: url.pathname + url.search });
      const versioned = /^\/v1\.\d+(\/.*)$/.exec(url.pathname);
      if (!versioned) return this.json(res, 404, { message: 'page not found' });
      const route = versioned[1];
      if (route === '/images/create' && req.method === 'POST') {
        const image = `${url.searchParams.get('fromImage')}:${url.searchParams.get('tag')}`;
        if (image.includes('missing'))
          return this.json(res, 404, {
            message: `pull access denied for ${url.searchParams.get('fromImage')}, repository does not exist`,
          });
        this.images.add(image);
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          `{"status":"Pulling from ${image}"}\n{"status":"Status: Downloaded newer image for ${image}"}\n`,
        );
      }
      if (route === '/containers/create' && req.method === 'POST') {
        const name = url.searchParams.get('name')!;
        if (this.find(name))
          return this.json(res, 409, {
            message: `Conflict. The container name "/${name}" is already in use by container "${this.find(name)!.Id}".`,
          });
        const body = JSON.parse(raw) as {
          Image: string;
          Env: string[];
          Labels: Record<string, string>;
          HostConfig: { PortBindings: FakeContainer['PortBindings'] };
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
          State: { Status: 'created', Running: false, ExitCode: 0, Pid: 0 },
          output: [],
        });
        return this.json(res, 201, { Id, Warnings: [] });
      }
      const action = /^\/containers\/([^/]+)(?:\/(start|stop|json|logs))?$/.exec(route);
      const container = action ? this.find(action[1]) : undefined;
      if (!action) return this.json(res, 404, { message: 'page not found' });
      if (!container) return this.json(res, 404, { message: `No such container: ${action[1]}` });
      switch (`${req.method} ${action[2] ?? ''}`) {
        case 'POST start':
          if (container.State.Running) return void res.writeHead(304).end();
          container.State = { Status: 'running', Running: true, ExitCode: 0, Pid: 4242 };
          container.output.push(
            `listening on ${container.Env.find((entry) => entry.startsWith('PORT='))}`,
          );
          return void res.writeHead(204).end();
        case 'POST stop':
          if (!container.State.Running) return void res.writeHead(304).end();
          container.State = { Status: 'exited', Running: false, ExitCode: 0, Pid: 0 };
          container.output.push('stopping on SIGTERM');
          return void res.writeHead(204).end();
        case 'GET json':
          return this.json(res, 200, {
            Id: container.Id,
            Name: container.Name,
            State: container.State,
            Config: { Image: container.Image, Env: container.Env, Labels: container.Labels },
            HostConfig: { PortBindings: container.PortBindings },
          });
        case 'GET logs': {
          const tail = Number(url.searchParams.get('tail') ?? 0);
          const lines = tail ? container.output.slice(-tail) : container.output;
          res.writeHead(200, { 'content-type': 'application/vnd.docker.multiplexed-stream' });
          return res.end(
            Buffer.concat(lines.map((line, index) => frame(index % 2 === 0 ? 1 : 2, `${line}\n`))),
          );
        }
        case 'DELETE ':
          if (container.State.Running && url.searchParams.get('force') !== 'true')
            return this.json(res, 409, {
              message:
                'You cannot remove a running container. Stop the container before attempting removal or force remove',
            });
          this.containers.delete(container.Id);
          return void res.writeHead(204).end();
      }
      this.json(res, 404, { message: 'page not found' });
    });
  }
}
