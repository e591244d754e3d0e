import net from 'node:net';
import { maskUrlPassword } from '../../core/masking.js';
import { errorMessage } from '../../core/errors.js';
import type { HealthCheckDefinition, HealthCheckResult } from '../../core/health-registry.js';
import type { HealthCheckConfig, HttpCheckConfig, TcpCheckConfig } from './options.js';

/** Turns a validated option check into a registry definition. */
export function toHealthCheck(check: HealthCheckConfig): HealthCheckDefinition {
  const base = {
    name: check.name,
    critical: check.critical,
    interval: check.interval,
    timeout: check.timeout,
  };
  switch (check.type) {
    case 'http':
      return { ...base, run: () => runHttpCheck(check) };
    case 'tcp':
      return { ...base, run: () => runTcpCheck(check) };
    case 'custom':
      return { ...base, run: check.run };
  }
}

function statusMatches(expected: number | number[] | undefined, status: number): boolean {
  if (expected === undefined) return status >= 200 && status < 300;
  return Array.isArray(expected) ? expected.includes(status) : expected === status;
}

function describeExpected(expected: number | number[] | undefined): string {
  if (expected === undefined) return 'a 2xx status';
  return Array.isArray(expected) ? expected.join(' or ') : String(expected);
}

/** fetch reports "fetch failed" and hides the reason (ECONNREFUSED, DNS...) in `cause`. */
function describeFetchFailure(error: unknown, timeout: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return `timed out after ${timeout} ms`;
  const cause = error instanceof Error ? error.cause : undefined;
  return cause === undefined ? errorMessage(error) : errorMessage(cause);
}

/** fetch refuses URLs carrying credentials; send them as basic authorization instead. */
function withoutCredentials(
  raw: string,
  given: Record<string, string> = {},
): { url: string; headers: Record<string, string> } {
  const url = new URL(raw);
  if (!url.username && !url.password) return { url: raw, headers: given };
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  const hasAuthorization = Object.keys(given).some((key) => key.toLowerCase() === 'authorization');
  const headers = hasAuthorization
    ? given
    : { ...given, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
  return { url: url.toString(), headers };
}

/**
 * One request with its own abort timeout, so a hung upstream releases its socket instead of
 * lingering after the registry has already recorded the timeout.
 */
export async function runHttpCheck(check: HttpCheckConfig): Promise<HealthCheckResult> {
  // Shown in the report and logs, so a password in the URL never leaves the process.
  const shownUrl = maskUrlPassword(check.url);
  const { url, headers } = withoutCredentials(check.url, check.headers);
  let response: Response;
  try {
    response = await fetch(url, {
      method: check.method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(check.timeout),
    });
  } catch (error) {
    const reason = describeFetchFailure(error, check.timeout).replaceAll(check.url, shownUrl);
    throw new Error(`${check.method} ${shownUrl} failed: ${reason}`);
  }
  // The body is not needed; cancelling returns the connection to the pool at once.
  await response.body?.cancel().catch(() => undefined);
  const details = { url: shownUrl, statusCode: response.status };
  if (!statusMatches(check.expectStatus, response.status)) {
    return {
      status: 'unhealthy',
      message: `${check.method} ${shownUrl} answered ${response.status}, expected ${describeExpected(check.expectStatus)}`,
      details,
    };
  }
  return { status: 'healthy', details };
}

/** A real TCP connect (no data sent), closed as soon as it succeeds. */
export function runTcpCheck(check: TcpCheckConfig): Promise<HealthCheckResult> {
  const target = `${check.host}:${check.port}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: check.host, port: check.port });
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve({ status: 'healthy', details: { host: check.host, port: check.port } });
    };
    const timer = setTimeout(
      () => finish(new Error(`TCP connect to ${target} timed out after ${check.timeout} ms`)),
      check.timeout,
    );
    socket.once('connect', () => finish());
    socket.once('error', (error) =>
      finish(new Error(`TCP connect to ${target} failed: ${error.message}`, { cause: error })),
    );
  });
}
