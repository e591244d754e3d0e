/**
 * Talks to the server: same origin, cookies included, the CSRF token on state-changing calls,
 * problem+json answers turned into ApiError. Endpoints are absolute paths (`/api/health`)
 * resolved against the document's base, so tests can point the base at any server.
 */

export interface PanelSettings {
  mountPath: string;
  branding: { title: string; accentColor: string };
  loginUrl?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken: string | undefined;
const unauthorisedListeners = new Set<() => void>();

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export function getCsrfToken(): string | undefined {
  return csrfToken;
}

/** Called when any call answers 401: the session ended, the panel shows the login form. */
export function onUnauthorised(listener: () => void): () => void {
  unauthorisedListeners.add(listener);
  return () => unauthorisedListeners.delete(listener);
}

export function settings(): PanelSettings {
  const meta = document.querySelector('meta[name="cpanel-config"]')?.getAttribute('content');
  if (meta) {
    try {
      return JSON.parse(meta) as PanelSettings;
    } catch {}
  }
  const base = new URL(document.baseURI).pathname.replace(/\/$/, '');
  return {
    mountPath: base || '/cpanel',
    branding: { title: 'Control panel', accentColor: '#2563eb' },
  };
}

export function apiUrl(endpoint: string): string {
  return new URL(endpoint, document.baseURI).toString();
}

export function isSameOrigin(url: string): boolean {
  return new URL(url, document.baseURI).origin === new URL(document.baseURI).origin;
}

async function toError(response: Response): Promise<ApiError> {
  let detail = response.statusText || `HTTP ${response.status}`;
  let code = 'HTTP_ERROR';
  try {
    const body = (await response.json()) as { detail?: string; title?: string; code?: string };
    detail = body.detail ?? body.title ?? detail;
    code = body.code ?? code;
  } catch {}
  const retry = Number(response.headers.get('retry-after'));
  return new ApiError(
    response.status,
    code,
    detail,
    Number.isFinite(retry) && retry > 0 ? retry : undefined,
  );
}

export async function request(
  endpoint: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal; quiet401?: boolean } = {},
): Promise<Response> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  // The token is the session's second factor: it goes to this origin only, whatever URL a plugin's descriptor names.
  if (method !== 'GET' && method !== 'HEAD' && csrfToken && isSameOrigin(endpoint))
    headers['x-csrf-token'] = csrfToken;
  const response = await fetch(apiUrl(endpoint), {
    method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: 'same-origin',
    signal: init.signal,
  });
  if (!response.ok) {
    const error = await toError(response);
    if (response.status === 401 && !init.quiet401)
      for (const listener of unauthorisedListeners) listener();
    throw error;
  }
  return response;
}

export async function getJson<T = unknown>(endpoint: string, signal?: AbortSignal): Promise<T> {
  const response = await request(endpoint, { signal });
  return (await response.json()) as T;
}

/** Sends a state-changing call; the answer's JSON, or undefined when it has no body. */
export async function send(endpoint: string, method: string, body?: unknown): Promise<unknown> {
  const response = await request(endpoint, { method, body });
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Reads a Server-Sent Events stream with fetch (headers and cookies as any call), calling
 * `onEvent` with each `data:` payload; reconnects after `retryMs` until `stop()`.
 */
export function openEventStream(
  endpoint: string,
  handlers: {
    onEvent: (data: string, event: string) => void;
    onState?: (state: 'open' | 'reconnecting' | 'closed') => void;
  },
  retryMs = 2_000,
): { stop: () => void } {
  let stopped = false;
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connect = async () => {
    controller = new AbortController();
    try {
      const response = await request(endpoint, { signal: controller.signal });
      handlers.onState?.('open');
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done || stopped) break;
        buffer += decoder.decode(value, { stream: true });
        let boundary = buffer.search(/\r?\n\r?\n/);
        while (boundary >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, '');
          const lines = block.split(/\r?\n/);
          const event =
            lines
              .find((line) => line.startsWith('event:'))
              ?.slice(6)
              .trim() ?? 'message';
          const data = lines
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).replace(/^ /, ''))
            .join('\n');
          if (data) handlers.onEvent(data, event);
          boundary = buffer.search(/\r?\n\r?\n/);
        }
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) stopped = true;
    }
    if (stopped) return handlers.onState?.('closed');
    handlers.onState?.('reconnecting');
    timer = setTimeout(() => void connect(), retryMs);
  };
  void connect();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
    },
  };
}
