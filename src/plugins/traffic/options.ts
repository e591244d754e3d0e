import { z } from 'zod';
import { durationSchema } from '../../core/duration.js';
import { releaseLimitsShape } from '../../core/releases/options.js';
import { versionSchema } from './version.js';
import { orchestratorSchema, portsSchema, releaseCommandSchema } from './orchestrators/options.js';

const MINUTE = 60_000;
/** A duration in milliseconds or as text ('30s', '15m'): zero allowed (no delay). */
const duration = durationSchema({ unit: 'ms', min: 0 });
/** The same, at least a millisecond. */
const positive = durationSchema({ unit: 'ms', min: 1 });
const slotId = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/, 'a slot name like "slot-a"');

const serviceSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,40}$/, 'a lower-case service name like "api"'),
    /**
     * The routing plugin's proxy route (id or match) that follows the active slot. Default: the
     * proxy route whose id is the service name, else the only one whose match starts with
     * `/<name>` as its first segment (`api`: `/api/*`, `/api/v1/*`); none or two fail start-up.
     */
    route: z.string().min(1).optional(),
    slots: z.array(slotId).min(1).default(['slot-a', 'slot-b']),
    /** GET on a release; 2xx and 3xx answers pass. Default `/health/ready`. */
    healthEndpoint: z.string().regex(/^\//, 'a path starting with "/"').default('/health/ready'),
    /** The candidate's consecutive passing checks must span this long. Default 10 s. */
    promotionDelay: duration.default(10_000),
    /** Consecutive passing checks needed before promotion. Default 3. */
    promotionChecks: z.number().int().min(1).default(3),
    /** Promote an eligible candidate without being asked. Default false (manual). */
    autoPromote: z.boolean().default(false),
    healthInterval: positive.default(2_000),
    healthTimeout: positive.default(1_000),
    /** Consecutive failing checks that fail a candidate, or roll back a failing active. Default 3. */
    failureThreshold: z.number().int().min(1).default(3),
    /** A release that has not passed a check by then has failed. Default 60 s. */
    startTimeout: positive.default(60_000),
    /** A dev (red) service: releases take traffic once healthy and stop when idle. Default false. */
    dev: z.boolean().default(false),
    /** Dev: stop after this long without requests. Default 15 min. */
    idleTimeout: positive.default(15 * MINUTE),
    /** Dev: how long a request waits for a sleeping slot to start before a 503. Default 30 s. */
    wakeTimeout: positive.default(30_000),
    /** Deployed at start-up when the service has no saved state yet (a first run). */
    initialVersion: versionSchema.optional(),
    /** Process orchestrator: this service's release command (overrides the orchestrator's). */
    release: releaseCommandSchema.optional(),
    /** Process and docker orchestrators (and caprover's `publishPorts`): this service's slot ports. */
    ports: portsSchema.optional(),
    /** Container orchestrators: this service's image template. */
    image: z.string().min(1).optional(),
  })
  .refine((service) => new Set(service.slots).size === service.slots.length, {
    message: 'distinct slot names',
    path: ['slots'],
  });

const errorRateSchema = z.strictObject({
  /** Share of 5xx answers (0-1) that triggers an automatic rollback. Default 0.5. */
  threshold: z.number().gt(0).max(1).default(0.5),
  /** Sliding window the share is measured over. Default 30 s. */
  window: positive.default(30_000),
  /** Fewer answers than this in the window never trigger. Default 20. */
  minRequests: z.number().int().min(1).default(20),
});

const storeSchema = z.strictObject({
  /** `auto`: the database plugin's table when it is present, else the file. Default auto. */
  type: z.enum(['auto', 'file', 'database']).default('auto'),
  /** JSON file for the file store. Default `.data/traffic-state.json`. */
  path: z.string().min(1).default('.data/traffic-state.json'),
  /** Table for the database store. Default `traffic_state`. */
  table: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier')
    .default('traffic_state'),
});

export const trafficOptionsSchema = z
  .strictObject({
    /** Traffic runs on the gateway; the only mode so far. */
    mode: z.literal('gateway').default('gateway'),
    services: z.array(serviceSchema).min(1, 'at least one service'),
    rollback: z
      .strictObject({
        /** How long the previous release stays warm for an instant rollback. Default 15 min. */
        window: duration.default(15 * MINUTE),
        /** Roll back by itself when the new active fails health or its 5xx rate passes the threshold. Default false. */
        automatic: z.boolean().default(false),
        errorRate: errorRateSchema.prefault({}),
      })
      .prefault({}),
    orchestrator: orchestratorSchema.default({
      type: 'process',
      ports: { from: 3100, step: 2 },
      host: '127.0.0.1',
      stopTimeout: 10_000,
      outputLines: 1_000,
      args: [],
      env: {},
    }),
    store: storeSchema.prefault({}),
    /**
     * Several gateways on one PostgreSQL database (the database plugin's): they share the state,
     * one at a time drives the orchestrator, the others follow. On by itself there.
     */
    replicas: z
      .strictObject({
        /** How often a gateway tries to take the driving lock, and its holder checks it. Default 1 000 ms. */
        lockInterval: positive.default(1_000),
        /** How long a command sent to a follower waits for the driving gateway. Default 10 000 ms. */
        commandTimeout: positive.default(10_000),
        /**
         * A driver that lost the lock (a database restart) keeps its local releases running this
         * long, and carries on without restarting them if it takes the lock back first (then
         * it stops them and says so); a gateway taking over local releases from a driver still
         * up waits for that word, twice this long plus two lock intervals at most, so their
         * ports are free. Default 2 000 ms.
         */
        handoverDelay: duration.default(2_000),
      })
      .prefault({}),
    /** Releases uploaded with `qwickapps release` (process orchestrator): where, how big, how many. */
    releases: z
      .strictObject({
        /**
         * Each service's releases go to `<path>/<service>/<version>/`; with the shared database
         * (`store`), each gateway's copies go to `<path>/<service>/.shared/`. Default `.data/releases`.
         */
        path: z.string().min(1).default('.data/releases'),
        /**
         * Only uploaded releases are deployed: a version with none (never uploaded, or pruned)
         * fails to start instead of running the configured command. Default false.
         */
        required: z.boolean().default(false),
        ...releaseLimitsShape,
      })
      .prefault({}),
    /** How often deadlines (rollback window, start timeout, idle) are checked. Default 1 000 ms. */
    tickInterval: positive.default(1_000),
    /** Transitions kept per service. Default 500. */
    historyLimit: z.number().int().min(1).default(500),
    /** An active release that exited is started again after this pause. Default 1 000 ms. */
    restartDelay: duration.default(1_000),
    /** Where the guarded HTTP API lives. Default `/cpanel/api/traffic`. */
    apiPath: z
      .string()
      .regex(/^\/[a-z0-9/_-]*[a-z0-9]$/i, 'a path like "/cpanel/api/traffic"')
      .default('/cpanel/api/traffic'),
  })
  .superRefine((config, issues) => {
    const names = new Set<string>();
    config.services.forEach((service, index) => {
      if (names.has(service.name))
        issues.addIssue({
          code: 'custom',
          path: ['services', index, 'name'],
          message: `a unique service name ("${service.name}" is used twice)`,
        });
      names.add(service.name);
      if (
        config.orchestrator.type === 'process' &&
        !service.release &&
        !config.orchestrator.command
      ) {
        issues.addIssue({
          code: 'custom',
          path: ['services', index, 'release'],
          message:
            'a release command (here or in orchestrator.command) for the process orchestrator',
        });
      }
      const ports = service.ports;
      if (Array.isArray(ports) && ports.length < service.slots.length) {
        issues.addIssue({
          code: 'custom',
          path: ['services', index, 'ports'],
          message: `one port per slot (${service.slots.length})`,
        });
      }
    });
  });

export type TrafficConfig = z.output<typeof trafficOptionsSchema>;
export type TrafficOptions = z.input<typeof trafficOptionsSchema>;
export type TrafficServiceConfig = TrafficConfig['services'][number];
export type TrafficServiceOptions = z.input<typeof serviceSchema>;
