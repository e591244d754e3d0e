import http from 'node:http';

/**
 * The newest Engine API version this client is written against. The Engine is asked what it
 * speaks (`GET /version`) and the lower of the two is used, as Docker's own client does: Debian's
 * dockerd 20.10 answers at most 1.41, Docker 29 at least 1.44.
 */
export const NEWEST_API_VERSION = '1.47';
/** The oldest version with every call and field the orchestrator uses. */
export const OLDEST_API_VERSION = '1.24';

export interface EngineAnswer {
  status: number;
  body: Buffer;
}

export interface EngineSettings {
  socketPath: string;
  /** A pinned version (`v1.41`), or undefined to negotiate one with the Engine. */
  apiVersion?: string;
  requestTimeout: number;
}

/** Compares API versions as numbers, major then minor (`1.9` comes before `1.41`). */
export function compareVersions(left: string, right: string): number {
  const [leftMajor, leftMinor] = left.split('.').map(Number);
  const [rightMajor, rightMinor] = right.split('.').map(Number);
  return leftMajor - rightMajor || leftMinor - rightMinor;
}

/** The version to speak with an Engine that reports `[minimum, maximum]`. */
export function negotiateVersion(maximum: string, minimum = OLDEST_API_VERSION): string {
  const chosen = compareVersions(maximum, NEWEST_API_VERSION) < 0 ? maximum : NEWEST_API_VERSION;
  if (compareVersions(chosen, OLDEST_API_VERSION) < 0)
    throw new Error(
      `the Docker Engine speaks API ${maximum} at most; the docker orchestrator needs ${OLDEST_API_VERSION} or newer`,
    );
  if (compareVersions(chosen, minimum) < 0)
    throw new Error(
      `the Docker Engine needs API ${minimum} or newer; the docker orchestrator speaks up to ${NEWEST_API_VERSION}`,
    );
  return chosen;
}

/** The Engine's error message from an answer (`{ message }` JSON, or the raw text). */
export function engineMessage(answer: EngineAnswer): string {
  const text = answer.body.toString('utf8');
  try {
    return ((JSON.parse(text) as { message?: string }).message ?? text).trim();
  } catch {
    return text.trim();
  }
}

/**
 * The Docker Engine API over its unix socket, at the version negotiated on first use. Plain
 * requests are buffered; `stream` follows a long-lived answer (the event stream) line by line.
 */
export class DockerEngine {
  private version?: Promise<string>;

  constructor(private readonly settings: EngineSettings) {}

  /** The API version in use (`1.41`), asked of the Engine once. */
  apiVersion(): Promise<string> {
    if (this.settings.apiVersion)
      return Promise.resolve(this.settings.apiVersion.replace(/^v/, ''));
    this.version ??= this.send('GET', '/version').then((answer) => {
      if (answer.status !== 200)
        throw new Error(`docker version failed (HTTP ${answer.status}): ${engineMessage(answer)}`);
      const { ApiVersion, MinAPIVersion } = JSON.parse(answer.body.toString('utf8')) as {
        ApiVersion: string;
        MinAPIVersion?: string;
      };
      return negotiateVersion(ApiVersion, MinAPIVersion);
    });
    // A failed negotiation (dockerd not up yet) is asked again next time.
    this.version.catch(() => (this.version = undefined));
    return this.version;
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<EngineAnswer> {
    return this.send(method, `/v${await this.apiVersion()}${path}`, body, headers);
  }

  /**
   * Opens a streaming GET and hands each non-empty line to `onLine`. Resolves with the request
   * once the Engine answered 200 (the stream is live); `onEnd` runs when it closes for any reason.
   */
  async stream(
    path: string,
    onLine: (line: string) => void,
    onEnd: (error?: Error) => void,
  ): Promise<http.ClientRequest> {
    const version = await this.apiVersion();
    return new Promise((resolve, reject) => {
      let live = false;
      let ended = false;
      // An error is followed by a close: the caller hears of the end once.
      const end = (error?: Error) => {
        if (ended) return;
        ended = true;
        onEnd(error);
      };
      const req = http.request(
        {
          socketPath: this.settings.socketPath,
          path: `/v${version}${path}`,
          method: 'GET',
          // Until the Engine answers; a live stream may then stay quiet for as long as it likes.
          timeout: this.settings.requestTimeout,
        },
        (res) => {
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
              reject(
                new Error(
                  `docker ${path} failed (HTTP ${res.statusCode}): ${engineMessage({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) })}`,
                ),
              ),
            );
            return;
          }
          live = true;
          req.setTimeout(0);
          resolve(req);
          let pending = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            pending += chunk;
            const lines = pending.split('\n');
            pending = lines.pop()!;
            for (const line of lines) if (line.trim()) onLine(line);
          });
          res.on('error', (error) => end(error));
          res.on('close', () => end());
        },
      );
      req.on('timeout', () => req.destroy(new Error(`docker GET ${path} timed out`)));
      req.on('error', (error) => (live ? end(error) : reject(error)));
      req.end();
    });
  }

  private send(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<EngineAnswer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.settings.socketPath,
          path,
          method,
          headers:
            payload === undefined
              ? headers
              : {
                  ...headers,
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(payload),
                },
          timeout: this.settings.requestTimeout,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`docker ${method} ${path} timed out`)));
      req.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
            ? new Error(
                `no Docker Engine on ${this.settings.socketPath} (${error.code}): is dockerd running, and is orchestrator.socketPath right?`,
              )
            : error,
        ),
      );
      req.end(payload);
    });
  }
}
