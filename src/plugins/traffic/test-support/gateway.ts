import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, type App, type AppOptions } from '../../../index.js';
import { captureLogs, waitFor } from '../../../../test/support/http.js';
import { createRoutingPlugin } from '../../routing/index.js';
import {
  createTrafficPlugin,
  type ServiceView,
  type Traffic,
  type TrafficPluginOptions,
  type TrafficServiceOptions,
} from '../index.js';

/** The release the traffic tests deploy (see its header for how VERSION shapes it). */
export const RELEASE = fileURLToPath(
  new URL('../../../../test/fixtures/traffic/release.mjs', import.meta.url),
);

export { freePorts } from '../../../../test/support/ports.js';

export interface TrafficGateway {
  app: App;
  url: string;
  port: number;
  traffic: Traffic;
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export interface GatewaySetup {
  /** One port per slot for the releases. */
  ports: number[];
  statePath: string;
  /** Gateway port; 0 picks one. */
  port?: number;
  service?: Partial<TrafficServiceOptions>;
  traffic?: Partial<TrafficPluginOptions>;
  /** Extra plugins (the control panel, the database). */
  plugins?: AppOptions['plugins'];
  routeTarget?: string;
  trustProxy?: AppOptions['trustProxy'];
  /** More environment for every release (`CRASH_AFTER` for `crash-*` versions). */
  releaseEnv?: Record<string, string>;
}

/** A gateway (routing + traffic over the process orchestrator) with fast health settings. */
export async function startTrafficGateway(setup: GatewaySetup): Promise<TrafficGateway> {
  const capture = captureLogs();
  const app = createApp({
    name: 'traffic-test',
    port: setup.port ?? 0,
    host: '127.0.0.1',
    logger: { level: 'info', destination: capture.stream, stdout: false },
    shutdown: { signals: false, drainTimeout: 5_000 },
    trustProxy: setup.trustProxy,
    plugins: [
      ...(setup.plugins ?? []),
      createRoutingPlugin({
        routes: [
          {
            id: 'api',
            match: '/api/v1/*',
            target: setup.routeTarget ?? 'http://127.0.0.1:9',
            ws: true,
            health: false,
          },
        ],
        drainTimeout: 10_000,
      }),
      createTrafficPlugin({
        services: [
          {
            name: 'api',
            route: 'api',
            promotionDelay: 300,
            promotionChecks: 2,
            healthInterval: 100,
            healthTimeout: 500,
            failureThreshold: 2,
            startTimeout: 10_000,
            ...setup.service,
          },
        ],
        orchestrator: {
          type: 'process',
          command: process.execPath,
          args: [RELEASE],
          env: { VERSION: '{version}', ...setup.releaseEnv },
          ports: setup.ports,
          stopTimeout: 5_000,
        },
        store: { type: 'file', path: setup.statePath },
        // Uploaded releases beside the state file, never in the working directory.
        releases: { path: path.join(path.dirname(setup.statePath), 'releases') },
        tickInterval: 100,
        restartDelay: 100,
        ...setup.traffic,
      }),
    ],
  });
  await app.start();
  const port = (app.server.address() as AddressInfo).port;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    port,
    traffic: app.context.services.get('traffic'),
    logs: capture.lines,
    stop: () => app.stop(),
  };
}

/** Calls the traffic API; answers the status and the parsed body. */
export async function api(
  gateway: TrafficGateway,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> & ServiceView }> {
  const response = await fetch(`${gateway.url}/cpanel/api/traffic${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown> & ServiceView,
  };
}

/** The version the gateway's `/api/v1/hello` answers with. */
export async function servedVersion(gateway: TrafficGateway): Promise<string | number> {
  const response = await fetch(`${gateway.url}/api/v1/hello`);
  if (!response.ok) {
    await response.body?.cancel();
    return response.status;
  }
  return ((await response.json()) as { version: string }).version;
}

/** Waits until the service view satisfies `predicate`. */
export async function waitForService(
  gateway: TrafficGateway,
  predicate: (view: ServiceView) => boolean,
  message: string,
  timeout = 10_000,
): Promise<ServiceView> {
  await waitFor(
    () => predicate(gateway.traffic.service('api')),
    `${message} (last: ${JSON.stringify(gateway.traffic.service('api').slots.map((slot) => `${slot.id}:${slot.state}:${slot.version ?? ''}`))})`,
    timeout,
  );
  return gateway.traffic.service('api');
}

export const slotState = (view: ServiceView, slot: string) =>
  view.slots.find((entry) => entry.id === slot)?.state;
