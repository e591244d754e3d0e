import type { EdgeExchange, EdgeHook } from '../../core/edge.js';
import type { Router } from '../routing/index.js';
import { forwardAfterWake, unavailable } from './dev-wake.js';
import type { ServiceController } from './controller.js';

export interface GuardedService {
  controller: ServiceController;
  /** Route id or match, as configured. */
  route: string;
  dev: boolean;
  wakeTimeout: number;
}

/**
 * The traffic plugin's edge hook (guard phase, proxy lane): it sees every proxied request and
 * WebSocket upgrade with the route the router matched, counts each answer against the slot it
 * was routed to (the 5xx rate behind automatic rollback), notes activity for dev slots, and holds
 * requests for a sleeping dev slot until it is up (bounded; then 503).
 */
export function createTrafficGuard(router: Router, services: readonly GuardedService[], now: () => number): EdgeHook {
  const proxyRoutes = router.routes().filter((route) => route.kind === 'proxy');
  const byRoute = new Map<string, GuardedService>();
  for (const service of services) {
    const route = proxyRoutes.find((entry) => entry.id === service.route) ?? proxyRoutes.find((entry) => entry.match === service.route);
    if (route) byRoute.set(route.id, service);
  }
  const lastNoted = new Map<ServiceController, number>();

  const run = ({ req, res, route, upgrade }: EdgeExchange): boolean | Promise<boolean> => {
    const service = route && byRoute.get(route.id);
    if (!service) return false;
    const { controller } = service;
    const slot = controller.routedSlot;
    // An upgrade's answer is a tunnel, not a status to count against the slot.
    if (slot !== undefined && !upgrade) {
      res.once('close', () => controller.responses.record(slot, res.writableFinished ? res.statusCode : 502, now()));
    }
    if (!service.dev) return false;
    const serving = controller.state.slots.some((entry) => entry.state === 'dev' && entry.target !== undefined);
    const wakeable = controller.state.slots.some((entry) => entry.state === 'starting' || (entry.state === 'stopped' && entry.asleep));
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
      else unavailable(req, res, 503, 'TRAFFIC_SERVICE_WAKING', `${controller.name} is starting; try again shortly.`, Math.ceil(service.wakeTimeout / 1000));
      return true;
    });
  };
  return { name: 'traffic', phase: 'guard', lanes: ['proxy'], run };
}
