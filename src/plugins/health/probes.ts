import type { AppContext, RawHandler } from '../../core/context.js';
import { problemBody, sendProblem } from '../../core/problem.js';

export type ProbeName = 'live' | 'ready' | 'startup';

/** What a probe body says; anything but `ok` comes with a 503. */
export type ProbeStatus = 'ok' | 'starting' | 'unavailable' | 'shutting_down';

// Encoded once: a probe answer is a lookup and a write, nothing more.
const BODIES: Record<ProbeStatus, Buffer> = {
  ok: Buffer.from('{"status":"ok"}'),
  starting: Buffer.from('{"status":"starting"}'),
  unavailable: Buffer.from('{"status":"unavailable"}'),
  shutting_down: Buffer.from('{"status":"shutting_down"}'),
};

/**
 * Kubernetes semantics, from cached state only (never runs a check):
 * - live: the process answers, so it is alive; a failing dependency must not get it restarted.
 * - startup: ok once start-up has finished (and stays ok while stopping, it is not asked again).
 * - ready: ok only while `isReady()`: started, not stopping, no critical check failing.
 */
export function probeStatus(app: AppContext, probe: ProbeName): ProbeStatus {
  if (probe === 'live') return 'ok';
  const phase = app.phase();
  if (probe === 'startup') {
    if (phase === 'ready' || phase === 'stopping' || phase === 'stopped') return 'ok';
    return phase === 'failed' ? 'unavailable' : 'starting';
  }
  if (app.isReady()) return 'ok';
  if (phase === 'stopping' || phase === 'stopped') return 'shutting_down';
  if (phase === 'created' || phase === 'starting') return 'starting';
  return 'unavailable';
}

/**
 * Answers `${prefix}` (readiness) and `${prefix}/live|ready|startup` before Express (exact path,
 * query string ignored).
 * Other methods get 405; other paths fall through to Express (so `/health/foo` is a normal 404).
 */
export function createProbeHandler(app: AppContext, prefix = '/health'): RawHandler {
  const probes = new Map<string, ProbeName>([
    // The bare prefix is what load balancers and deploy tools ask by default (`healthEndpoint:
    // '/health'`): it is the aggregated readiness, the same cached answer as /ready.
    [prefix, 'ready'],
    [`${prefix}/live`, 'live'],
    [`${prefix}/ready`, 'ready'],
    [`${prefix}/startup`, 'startup'],
  ]);
  return (req, res) => {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const probe = probes.get(path);
    if (probe === undefined) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendProblem(
        res,
        problemBody(
          405,
          'HEALTH_METHOD_NOT_ALLOWED',
          `${req.method} is not allowed on ${path}; probes answer GET and HEAD.`,
          { instance: path },
        ),
        {
          allow: 'GET, HEAD',
        },
      );
      return true;
    }
    const status = probeStatus(app, probe);
    const body = BODIES[status];
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': body.length,
      'cache-control': 'no-store',
    };
    // While stopping, a kept-alive probe connection is closed after the answer so the caller's
    // next request opens a fresh connection (to another instance once this one stops listening).
    if (status === 'shutting_down') headers.connection = 'close';
    res.writeHead(status === 'ok' ? 200 : 503, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
