import { z } from 'zod';
import { secret } from '../../../core/masking.js';

/**
 * Orchestrator options. Templates accept `{service}`, `{slot}`, `{version}` and `{port}`
 * (and `{app}` / `{namespace}` where the orchestrator names one). The process orchestrator's
 * arguments and env take `{release}` too: the folder of the version's uploaded release, else the
 * folder the command runs in (`cwd`), so `args: ['{release}/dist/server.js']` runs the uploaded
 * build, or the checkout's own before any upload.
 */

const port = z.number().int().min(1).max(65535);
const envTemplate = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string())
  .default({});

/** The command that runs one release; `PORT` is always set. */
export const releaseCommandSchema = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  /** Working directory; may contain `{version}` (`releases/{version}`). */
  cwd: z.string().optional(),
  env: envTemplate,
});

/** Slot ports: a list (one per slot, in order) or a range `{ from, step }` shared by all services. */
export const portsSchema = z.union([
  z.array(port).min(1),
  z.strictObject({ from: port, step: z.number().int().min(1).default(1) }),
]);

export const processOrchestratorSchema = z.strictObject({
  type: z.literal('process'),
  ...releaseCommandSchema.partial({ command: true }).shape,
  ports: portsSchema.default({ from: 3100, step: 2 }),
  /** Interface the releases listen on (and the gateway reaches). Default 127.0.0.1. */
  host: z.string().default('127.0.0.1'),
  /** After SIGTERM, how long a release may take to exit before SIGKILL. Default 10 000 ms. */
  stopTimeout: z.number().int().positive().default(10_000),
  /** Output lines kept per slot for `logs`. Default 1 000. */
  outputLines: z.number().int().positive().default(1_000),
});

const http = z.string().regex(/^https?:\/\/[^\s]+$/, 'an http(s) URL');
const requestTimeout = z.number().int().positive().default(10_000);

const kubernetesName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes name (lower-case letters, digits, "-")');

/**
 * Where the API server is and who the gateway is, resolved like kubectl: `apiUrl` (with `token`
 * or `tokenFile`, `caFile`), else the kubeconfig (`kubeconfig` or `KUBECONFIG`), else the pod's
 * service account, else `~/.kube/config`.
 */
export const kubernetesOrchestratorSchema = z.strictObject({
  type: z.literal('kubernetes'),
  /** The API server, e.g. `https://10.0.0.1:6443`. Default: from the kubeconfig or the pod. */
  apiUrl: http.optional(),
  /** Bearer token. Default: the kubeconfig user's, or the pod's service account token. */
  token: secret(z.string().min(1)).optional(),
  /** A file holding the token, read again whenever it changes (rotated service-account tokens). */
  tokenFile: z.string().min(1).optional(),
  /** CA bundle for the API server's certificate. Default: the kubeconfig's or the pod's. */
  caFile: z.string().min(1).optional(),
  /** Kubeconfig file(s), `:`-separated like `KUBECONFIG` (which is the default). */
  kubeconfig: z.string().min(1).optional(),
  /** Kubeconfig context. Default its `current-context`. */
  context: z.string().min(1).optional(),
  /** Default: the kubeconfig context's, else the service account's namespace, else `default`. */
  namespace: kubernetesName.optional(),
  /** Container image per release, e.g. `registry.example.com/api:{version}`. */
  image: z.string().min(1),
  containerPort: port.default(3000),
  replicas: z.number().int().min(1).default(1),
  env: envTemplate,
  /** Address of a slot's per-slot Service as the gateway reaches it. */
  targetTemplate: z.string().default('http://{service}-{slot}.{namespace}.svc:{port}'),
  /**
   * Address per slot id, overriding `targetTemplate` where each slot is reached its own way
   * (a NodePort, an Ingress host or a load balancer per slot).
   */
  targets: z.record(z.string(), http).default({}),
  /** The stable Service whose selector follows the active slot; false for none. */
  switchService: z.boolean().default(true),
  /** Retries of a write refused with 409 Conflict (stale resourceVersion). Default 5. */
  conflictRetries: z.number().int().min(0).default(5),
  /**
   * The Deployment's `progressDeadlineSeconds`: a rollout that makes no progress this long is
   * marked `ProgressDeadlineExceeded` by Kubernetes and the slot fails. Default 300.
   */
  progressDeadlineSeconds: z.number().int().min(1).default(300),
  /** How often rollouts and running slots are read back (crash loops are reported). Default 2 000 ms. */
  pollInterval: z.number().int().positive().default(2_000),
  /** How long a stop waits for the slot's pods to be gone. Default 60 000 ms. */
  stopTimeout: z.number().int().positive().default(60_000),
  requestTimeout,
});

/** The image a container orchestrator deploys when neither it nor the service names one. */
export const DEFAULT_IMAGE = '{service}:{version}';

const CAPTAIN_URL =
  'the CapRover dashboard URL, e.g. "https://captain.example.com" (is CAPROVER_URL set?)';

export const caproverOrchestratorSchema = z
  .strictObject({
    type: z.literal('caprover'),
    /**
     * The CapRover dashboard URL, e.g. `https://captain.example.com`. Typed to take
     * `process.env.CAPROVER_URL` as it is: a missing one is reported by name at start-up.
     */
    url: z
      .string()
      .optional()
      .pipe(z.string({ error: CAPTAIN_URL }).regex(/^https?:\/\/[^\s]+$/, CAPTAIN_URL)),
    /**
     * An `x-captain-auth` token CapRover issued (`POST /api/v2/login`). With `password` too, the
     * gateway logs in again when CapRover stops accepting the token.
     */
    token: secret(z.string().min(1)).optional(),
    /** The dashboard password: the gateway logs in (`POST /api/v2/login`) and renews its token itself. */
    password: secret(z.string().min(1)).optional(),
    /** App name per slot. */
    appTemplate: z.string().default('{service}-{slot}'),
    /**
     * Image per release; a service's own `image` wins. Default `{service}:{version}` (`api:v2`):
     * the image named after the service, tagged with the version, from the registries CapRover
     * pulls from (or built on its host).
     */
    image: z.string().min(1).default(DEFAULT_IMAGE),
    containerPort: port.default(3000),
    env: envTemplate,
    /**
     * Address of a slot's app as the gateway reaches it. Default its name on CapRover's overlay
     * network (every app answers to `srv-captain--{app}`, the name older CapRover gave its
     * services). With `publishPorts`, `{hostport}` is the slot's published port.
     */
    targetTemplate: z.string().default('http://srv-captain--{app}:{port}'),
    /**
     * Host ports to publish each slot's container port on (CapRover's port mapping), for a gateway
     * outside CapRover's network: one per slot in order, or a range `{ from, step }`. Default none.
     */
    publishPorts: portsSchema.optional(),
    /** How long a deploy (CapRover pulling the image and updating the app) may take. Default 10 min. */
    deployTimeout: z.number().int().positive().default(600_000),
    /** How often a running deploy's build status is asked for. Default 1 000 ms. */
    pollInterval: z.number().int().positive().default(1_000),
    /**
     * Retries of a change CapRover refused with HTTP 429 because another change in its namespace
     * was in progress (it makes one change at a time), `pollInterval` apart. Default 30.
     */
    busyRetries: z.number().int().min(0).default(30),
    requestTimeout,
  })
  // `when`: reported beside a missing url too, so one start-up names every problem.
  .refine((config) => config.token !== undefined || config.password !== undefined, {
    path: ['token'],
    message:
      'a CapRover token (is CAPROVER_TOKEN set?) or password, so the gateway can call its API',
    when: ({ value }) => typeof value === 'object' && value !== null,
  });

/** Credentials for the registry the images come from, sent as `X-Registry-Auth` on pulls. */
const registryAuthSchema = z.union([
  z.strictObject({
    username: z.string().min(1),
    password: secret(z.string().min(1)),
    /** The registry, e.g. `registry.example.com:5000`. Default the image's own. */
    serverAddress: z.string().min(1).optional(),
  }),
  z.strictObject({
    /** A token the registry issued (`docker login` with an identity token). */
    identityToken: secret(z.string().min(1)),
    serverAddress: z.string().min(1).optional(),
  }),
]);

export const dockerOrchestratorSchema = z.strictObject({
  type: z.literal('docker'),
  socketPath: z.string().default('/var/run/docker.sock'),
  /**
   * Pins the Engine API version (`v1.41`). Default: asked of the Engine (`GET /version`) and
   * capped at the newest this orchestrator knows, as Docker's own client negotiates.
   */
  apiVersion: z
    .string()
    .regex(/^v?\d+\.\d+$/, 'a version like "v1.41"')
    .optional(),
  /** Image per release; a service's own `image` wins (`registry:5000/api:{version}`, digests too). */
  image: z.string().min(1),
  containerPort: port.default(3000),
  /** Host ports the slots are published on (loopback), like the process orchestrator's. */
  ports: portsSchema.default({ from: 3100, step: 2 }),
  /** Host interface the container ports are published on, and the gateway reaches. Default 127.0.0.1. */
  host: z.string().default('127.0.0.1'),
  nameTemplate: z.string().default('{service}-{slot}'),
  env: envTemplate,
  /**
   * When to pull: `missing` (default) pulls images the Engine does not have, `always` before
   * every start (moving tags), `never` uses local images only. `true`/`false` mean always/never.
   */
  pull: z
    .union([z.boolean(), z.enum(['always', 'missing', 'never'])])
    .default('missing')
    .transform((pull) => (pull === true ? 'always' : pull === false ? 'never' : pull)),
  registryAuth: registryAuthSchema.optional(),
  /** Seconds Docker waits after SIGTERM before killing. Default 10. */
  stopTimeout: z.number().int().min(0).default(10),
  /** Per Engine call (a pull included). Default 120 000 ms. */
  requestTimeout: z.number().int().positive().default(120_000),
  /** Pause before following the Engine's event stream again after it dropped. Default 1 000 ms. */
  reconnectDelay: z.number().int().positive().default(1_000),
});

export const orchestratorSchema = z.discriminatedUnion('type', [
  processOrchestratorSchema,
  kubernetesOrchestratorSchema,
  caproverOrchestratorSchema,
  dockerOrchestratorSchema,
]);

export type ReleaseCommand = z.output<typeof releaseCommandSchema>;
export type PortsConfig = z.output<typeof portsSchema>;
export type OrchestratorConfig = z.output<typeof orchestratorSchema>;
export type OrchestratorOptions = z.input<typeof orchestratorSchema>;
export type ProcessOrchestratorConfig = z.output<typeof processOrchestratorSchema>;
export type KubernetesOrchestratorConfig = z.output<typeof kubernetesOrchestratorSchema>;
export type CaproverOrchestratorConfig = z.output<typeof caproverOrchestratorSchema>;
export type DockerOrchestratorConfig = z.output<typeof dockerOrchestratorSchema>;

/** Fills `{name}` placeholders; unknown names are left as they are. */
export function fillTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{([a-z]+)\}/g, (whole, name: string) =>
    name in values ? String(values[name]) : whole,
  );
}
