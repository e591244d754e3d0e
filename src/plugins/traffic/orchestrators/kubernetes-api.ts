import { Agent, fetch as undiciFetch } from 'undici';
import type { KubernetesConnection } from './kubernetes-connection.js';

export interface ApiAnswer {
  status: number;
  body: unknown;
}

/**
 * The Kubernetes REST API over fetch: @kubernetes/client-node 2.x needs Node 22 (its undici 8
 * uses zlib's zstd), and this package supports Node 20. The dispatcher trusts the cluster's own
 * CA and presents the client certificate when the kubeconfig has one.
 */
export class KubernetesApi {
  private readonly dispatcher: Agent;

  constructor(
    readonly connection: KubernetesConnection,
    private readonly requestTimeout: number,
  ) {
    const { ca, cert, key } = connection.tls;
    this.dispatcher = new Agent({ connect: { ca, cert, key } });
  }

  get namespace(): string {
    return this.connection.namespace;
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<ApiAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = contentType;
    const token = await this.connection.token?.();
    if (token) headers.authorization = `Bearer ${token}`;
    const url = `${this.connection.apiUrl.replace(/\/$/, '')}${path}`;
    const response = await undiciFetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher: this.dispatcher,
      signal: AbortSignal.timeout(this.requestTimeout),
    }).catch((error: unknown) => {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(
        `kubernetes API ${this.connection.apiUrl} unreachable: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      );
    });
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {}
    }
    return { status: response.status, body: parsed };
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** The API's own Status message when it sent one. */
export function failure(action: string, answer: ApiAnswer): Error {
  const message =
    (answer.body as { message?: string } | undefined)?.message ?? String(answer.body).slice(0, 200);
  return new Error(`kubernetes ${action} failed (HTTP ${answer.status}): ${message}`);
}
