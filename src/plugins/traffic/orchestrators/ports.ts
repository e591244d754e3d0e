import type { PortsConfig } from './options.js';
import type { ServiceLayout, SlotRef } from './types.js';

/**
 * The port of each slot: a service's own `ports` when it has them, else the orchestrator's
 * range, consumed in service then slot order so two services never share a port.
 */
export function slotPorts(
  layout: readonly ServiceLayout[],
  fallback: PortsConfig,
): Map<string, number> {
  const ports = new Map<string, number>();
  let shared = 0;
  for (const service of layout) {
    service.slots.forEach((slot, position) => {
      const own = service.ports;
      let port: number;
      if (own) port = Array.isArray(own) ? own[position] : own.from + position * own.step;
      else
        port = Array.isArray(fallback) ? fallback[shared] : fallback.from + shared * fallback.step;
      if (!own) shared++;
      if (port === undefined)
        throw new Error(
          `No port for ${service.name}/${slot}: list one port per slot, or use a range { from, step }.`,
        );
      ports.set(`${service.name}/${slot}`, port);
    });
  }
  return ports;
}

export const slotKey = (ref: Pick<SlotRef, 'service' | 'slot'>) => `${ref.service}/${ref.slot}`;
