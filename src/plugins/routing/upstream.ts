import type { Logger } from 'pino';
import type { Pool } from 'undici';
import { errorMessage } from '../../core/errors.js';

export type PoolFactory = (origin: string, options: { connectTimeout: number }) => Pool;

/** The last result of an upstream's health check, as the routes listing shows it. */
export interface UpstreamHealth {
  status: 'unknown' | 'healthy' | 'unhealthy';
  checkedAt?: string;
  statusCode?: number;
  latencyMs?: number;
  message?: string;
}

/**
 * One upstream target: its origin, the base path requests are forwarded under, and a keep-alive
 * pool shared by every route pointing at the same origin.
 */
export class Upstream {
  readonly origin: string;
  readonly basePath: string;
  health: UpstreamHealth = { status: 'unknown' };
  refs = 0;

  constructor(
    readonly target: string,
    readonly pool: Pool,
    readonly key: string,
  ) {
    const url = new URL(target);
    this.origin = url.origin;
    this.basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  }

  /** GETs `path` on the upstream; any 2xx or 3xx answer is healthy. */
  async check(path: string, timeout: number): Promise<UpstreamHealth> {
    const started = performance.now();
    try {
      const response = await this.pool.request({
        path,
        method: 'GET',
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.timeout(timeout),
      });
      await response.body.dump();
      const healthy = response.statusCode < 400;
      this.health = {
        status: healthy ? 'healthy' : 'unhealthy',
        statusCode: response.statusCode,
        checkedAt: new Date().toISOString(),
        latencyMs: Math.round((performance.now() - started) * 100) / 100,
        message: healthy ? undefined : `GET ${path} answered ${response.statusCode}`,
      };
    } catch (error) {
      this.health = {
        status: 'unhealthy',
        checkedAt: new Date().toISOString(),
        latencyMs: Math.round((performance.now() - started) * 100) / 100,
        message: `GET ${path} failed: ${errorMessage(error)}`,
      };
    }
    return this.health;
  }
}

/**
 * Upstreams by origin (and connect timeout, a pool-level setting). A replaced upstream nobody
 * points at any more is closed gracefully: undici's `close()` lets in-flight and queued requests
 * finish; after `drainTimeout` it is destroyed.
 */
export class UpstreamRegistry {
  private readonly upstreams = new Map<string, Upstream>();
  private readonly closing = new Set<Promise<void>>();

  constructor(
    private readonly createPool: PoolFactory,
    private readonly drainTimeout: number,
    private readonly logger: Logger,
  ) {}

  acquire(target: string, connectTimeout: number): Upstream {
    const url = new URL(target);
    const key = `${url.origin}${url.pathname}|${connectTimeout}`;
    let upstream = this.upstreams.get(key);
    if (!upstream) {
      upstream = new Upstream(target, this.createPool(url.origin, { connectTimeout }), key);
      this.upstreams.set(key, upstream);
    }
    upstream.refs++;
    return upstream;
  }

  release(upstream: Upstream): void {
    upstream.refs--;
    if (upstream.refs > 0 || this.upstreams.get(upstream.key) !== upstream) return;
    this.upstreams.delete(upstream.key);
    const done = this.drain(upstream).finally(() => this.closing.delete(done));
    this.closing.add(done);
  }

  private async drain(upstream: Upstream): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.drainTimeout);
      timer.unref();
    });
    try {
      const outcome = await Promise.race([
        upstream.pool.close().then(() => 'closed' as const),
        deadline,
      ]);
      if (outcome === 'timeout') {
        this.logger.warn(
          { upstream: upstream.target, drainTimeout: this.drainTimeout },
          'replaced upstream did not drain in time; closing its connections',
        );
        await upstream.pool.destroy();
      } else {
        this.logger.info({ upstream: upstream.target }, 'replaced upstream drained and closed');
      }
    } catch (error) {
      this.logger.warn(
        { upstream: upstream.target, error: errorMessage(error) },
        'closing a replaced upstream failed',
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes everything: waits (bounded) for replaced upstreams, then the live ones. */
  async closeAll(): Promise<void> {
    const live = [...this.upstreams.values()];
    this.upstreams.clear();
    await Promise.allSettled([...this.closing, ...live.map((upstream) => this.drain(upstream))]);
  }
}
