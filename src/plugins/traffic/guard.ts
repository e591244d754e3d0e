import type { EdgeExchange, EdgeHook } from '../../core/edge.js';
import { forwardAfterWake, unavailable } from './dev-wake.js';
import type { ServiceController } from './controller.js';
import type { ServiceState } from './state.js';

export interface GuardedService {
  controller: ServiceController;
  /** The routing plugin's route id. */
  route: string;
  dev: boolean;
  wakeTimeout: number;
  /** For the answer while the first release is starting: how soon to try again. */
  healthInterval: number;
  promotionChecks: number;
}

/**
 * Why a (non-dev) service has no active release, for the 503 its route answers: a candidate
 * never receives traffic, and neither does whatever the route's configured target points at.
 */
export function noActiveRelease(
  state: ServiceState,
  promotionChecks: number,
  healthInterval: number,
): { detail: string; retryAfter?: number } {
  const starting = state.slots.find((slot) => slot.state === 'starting');
  if (starting) {
    const passed = Math.min(starting.passing, promotionChecks);
    return {
      detail: `${state.service} has no active release yet: ${starting.id} (${starting.version}) is starting and becomes active once it passed ${promotionChecks} consecutive health checks (${passed} so far).`,
      retryAfter: Math.max(1, Math.ceil(((promotionChecks - passed) * healthInterval) / 1000)),
    };
  }
  const failed = [...state.history].reverse().find((transition) => transition.to === 'failed');
  const last = failed
    ? ` The last release, ${failed.version} in ${failed.slot}, failed: ${failed.reason}.`
    : '';
  return {
    detail: `${state.service} has no active release: nothing is deployed.${last} Deploy a version (qwickapps deploy ${state.service} <version>).`,
  };
}

/**
 * The traffic plugin's edge hook (guard phase, proxy lane): it sees every proxied request and
 * WebSocket upgrade with the route the router matched, counts each answer against the slot it
 * was routed to (the 5xx rate behind automatic rollback), answers 503 while a service has no
 * active release, notes activity for dev slots, and holds requests for a sleeping dev slot until
 * it is up (bounded; then 503).
 */
export function createTrafficGuard(
  services: readonly GuardedService[],
  now: () => number,
): EdgeHook {
  const byRoute = new Map(services.map((service) => [service.route, service]));
  const lastNoted = new Map<ServiceController, number>();

  const run = ({ req, res, route, upgrade }: EdgeExchange): boolean | Promise<boolean> => {
    const service = route && byRoute.get(route.id);
    if (!service) return false;
    const { controller } = service;
    if (
      !service.dev &&
      !controller.state.slots.some(
        (entry) => entry.state === 'active' && entry.target !== undefined,
      )
    ) {
      const { detail, retryAfter } = noActiveRelease(
        controller.state,
        service.promotionChecks,
        service.healthInterval,
      );
      unavailable(req, res, 503, 'TRAFFIC_NO_ACTIVE_RELEASE', detail, retryAfter);
      return true;
    }
    const slot = controller.routedSlot;
    // An upgrade's answer is a tunnel, not a status to count against the slot.
    if (slot !== undefined && !upgrade) {
      res.once('close', () =>
        controller.responses.record(slot, res.writableFinished ? res.statusCode : 502, now()),
      );
    }
    if (!service.dev) return false;
    const serving = controller.state.slots.some(
      (entry) => entry.state === 'dev' && entry.target !== undefined,
    );
    const wakeable = controller.state.slots.some(
      (entry) => entry.state === 'starting' || (entry.state === 'stopped' && entry.asleep),
    );
    // Nothing deployed yet: the router answers as it would without traffic.
    if (!serving && !wakeable) return false;
    // Activity is noted at most once a second: enough for idle timeouts of minutes.
    const noted = lastNoted.get(controller) ?? 0;
    if (!serving || now() - noted >= 1_000) {
      lastNoted.set(controller, now());
      void controller.dispatch({ type: 'request' }).catch(() => undefined);
    }
    if (serving) return false;
    return controller.whenServing(service.wakeTimeout).then((ready) => {
      const target = controller.state.slots.find((entry) => entry.state === 'dev')?.target;
      // A woken upgrade goes on through the pipeline to the route, which now points at the slot.
      if (ready && target && upgrade) return false;
      if (ready && target) forwardAfterWake(req, res, target, service.wakeTimeout);
      else
        unavailable(
          req,
          res,
          503,
          'TRAFFIC_SERVICE_WAKING',
          `${controller.name} is starting; try again shortly.`,
          Math.ceil(service.wakeTimeout / 1000),
        );
      return true;
    });
  };
  return { name: 'traffic', phase: 'guard', lanes: ['proxy'], run };
}
