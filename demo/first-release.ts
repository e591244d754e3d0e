import type { ServiceView, Traffic } from '../src/plugins/index.js';

export type FirstRelease = { active: true; view: ServiceView } | { active: false; reason: string };

/** How often `npm start` looks at the service while it waits. */
const POLL_INTERVAL = 200;

/**
 * Waits until the service's active release has passed a health check (after a gateway restart
 * the restored active slot is routed at once, while its process is still coming up), or says
 * why not: the release failed (with the recorded reason), or `timeout` ms passed.
 */
export async function waitForFirstRelease(
  traffic: Traffic,
  service: string,
  timeout: number,
): Promise<FirstRelease> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const view = traffic.service(service);
    const active = view.slots.find((slot) => slot.state === 'active');
    // A gateway following another one sees the state it saves, not each health check.
    if (active && (active.passing > 0 || traffic.role() === 'follower'))
      return { active: true, view };
    const pending = view.slots.find((slot) => slot.state === 'starting' || slot.state === 'active');
    if (!pending) {
      const failed = traffic
        .history(service, 50)
        .find((transition) => transition.to === 'failed' || transition.to === 'stopped');
      const reason = failed
        ? `${failed.slot} (${failed.version}) ${failed.to}: ${failed.reason}`
        : 'nothing is deployed';
      return { active: false, reason };
    }
    if (Date.now() >= deadline) {
      const detail = pending.message ? `; last health check: ${pending.message}` : '';
      return {
        active: false,
        reason: `${pending.id} (${pending.version}) is still ${pending.state} after ${Math.round(timeout / 1000)} s, ${pending.passing}/${pending.requiredChecks} health checks passed${detail}`,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL));
  }
}
