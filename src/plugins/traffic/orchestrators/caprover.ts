import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { HttpError } from '../../../core/errors.js';
import { CaptainClient } from './caprover-api.js';
import { captainLogLines } from './caprover-logs.js';
import { fillTemplate, type CaproverOrchestratorConfig } from './options.js';
import { slotKey, slotPorts } from './ports.js';
import type { Orchestrator, ReleaseSpec, ServiceLayout, SlotRef, SlotRuntime } from './types.js';

interface EnvVar {
  key: string;
  value: string;
}

interface PortMapping {
  containerPort: number;
  hostPort: number;
}

/** An app as `GET /user/apps/appDefinitions` lists it (the fields this orchestrator reads). */
interface AppDefinition {
  appName: string;
  instanceCount: number;
  deployedVersion?: number;
  versions?: { version: number; deployedImageName?: string }[];
  isAppBuilding?: boolean;
  envVars?: EnvVar[];
  ports?: PortMapping[];
  appPushWebhook?: { repoInfo?: unknown };
  [field: string]: unknown;
}

/**
 * What `POST /user/apps/appDefinitions/update` reads. It replaces the whole definition: a field
 * left out is reset (env vars to none, the container port to 80, `notExposeAsWebApp` to false,
 * the instance count to 0), so every update sends all of them back as CapRover listed them.
 */
const UPDATE_FIELDS = [
  'projectId',
  'description',
  'instanceCount',
  'captainDefinitionRelativeFilePath',
  'envVars',
  'volumes',
  'tags',
  'nodeId',
  'notExposeAsWebApp',
  'containerHttpPort',
  'httpAuth',
  'forceSsl',
  'ports',
  'appPushWebhook',
  'customNginxConfig',
  'redirectDomain',
  'preDeployFunction',
  'serviceUpdateOverride',
  'websocketSupport',
  'appDeployTokenConfig',
] as const;

interface BuildStatus {
  isAppBuilding?: boolean;
  isBuildFailed?: boolean;
  logs?: { lines?: string[] };
}

/**
 * One CapRover app per slot (`api-slot-b`), deployed from an image through CapRover's API
 * (`/api/v2`): register the app once, set its port, environment and instance count, then deploy
 * a captain definition naming the image and wait for CapRover's build to finish; an app already
 * running the image with these settings is left alone (a gateway restart brings nothing down).
 * Stopping scales the app to zero instances. Every change reads the app's definition first and
 * sends it back whole with only the orchestrator's fields changed (CapRover's POST update
 * replaces the definition; PATCH, which merges, only exists from 1.15), so settings made in the
 * dashboard survive.
 * CapRover (Docker swarm) restarts a crashed container itself: no exits are reported, a crash
 * shows in the health checks.
 */
export class CaproverOrchestrator implements Orchestrator {
  readonly type = 'caprover';
  private readonly captain: CaptainClient;
  private readonly hostPorts?: Map<string, number>;

  constructor(
    private readonly config: CaproverOrchestratorConfig,
    private readonly layout: readonly ServiceLayout[],
    private readonly logger: Logger,
  ) {
    this.captain = new CaptainClient(config, logger);
    if (config.publishPorts) this.hostPorts = slotPorts(layout, config.publishPorts);
  }

  async start(release: ReleaseSpec): Promise<{ target: string }> {
    const appName = this.appName(release);
    const image = fillTemplate(
      this.layout.find((entry) => entry.name === release.service)?.image ?? this.config.image,
      { ...release },
    );
    const hostPort = this.hostPorts?.get(slotKey(release));
    const values = {
      ...release,
      app: appName,
      port: this.config.containerPort,
      ...(hostPort === undefined ? {} : { hostport: hostPort }),
    };
    const current = (await this.definition(appName)) ?? (await this.register(appName));
    const ours = Object.entries(this.config.env).map(([key, value]) => ({
      key,
      value: fillTemplate(value, values),
    }));
    ours.push({ key: 'PORT', value: String(this.config.containerPort) });
    const wanted: Partial<AppDefinition> = {
      instanceCount: current.instanceCount > 0 ? current.instanceCount : 1,
      containerHttpPort: this.config.containerPort,
      notExposeAsWebApp: true,
      envVars: withEnv(current.envVars ?? [], ours),
      ...(hostPort === undefined
        ? {}
        : { ports: withPort(current.ports ?? [], this.config.containerPort, hostPort) }),
    };
    // Started again with nothing to change (a gateway restart restores its slots): leave the app
    // running, since a deploy or an update would replace its container.
    if (Object.entries(wanted).some(([field, value]) => !isDeepStrictEqual(current[field], value)))
      await this.update(current, wanted);
    if (deployedImage(current) !== image || current.isAppBuilding) {
      await this.captain.call('POST', `${appData(appName)}?detached=1`, {
        captainDefinitionContent: JSON.stringify({ schemaVersion: 2, imageName: image }),
        gitHash: '',
      });
      this.logger.info({ app: appName, image }, 'caprover deploy started');
      await this.deployed(appName, image);
    }
    return { target: fillTemplate(this.config.targetTemplate, values) };
  }

  async stop(ref: SlotRef): Promise<void> {
    const current = await this.definition(this.appName(ref));
    if (!current || current.instanceCount === 0) return;
    await this.update(current, { instanceCount: 0 });
  }

  async status(ref: SlotRef): Promise<SlotRuntime> {
    const app = await this.definition(this.appName(ref));
    if (!app) return { state: 'stopped', detail: 'no such app' };
    if (app.isAppBuilding) return { state: 'starting', detail: 'deploying' };
    if (deployedImage(app) === undefined)
      return { state: 'stopped', detail: 'nothing deployed yet' };
    if (app.instanceCount === 0) return { state: 'stopped', detail: 'scaled to 0 instances' };
    return {
      state: 'running',
      detail: `${app.instanceCount} instance(s), deployed version ${app.deployedVersion}`,
    };
  }

  async logs(ref: SlotRef, limit: number): Promise<string[]> {
    const data = await this.captain.call<{ logs?: string }>(
      'GET',
      `${appData(this.appName(ref))}/logs?encoding=hex`,
    );
    return captainLogLines(data?.logs ?? '').slice(-limit);
  }

  onExit(): void {
    // CapRover restarts crashed containers itself; failures show in the health checks.
  }

  async close(): Promise<void> {}

  private appName(ref: SlotRef): string {
    return fillTemplate(this.config.appTemplate, { service: ref.service, slot: ref.slot });
  }

  private async definition(appName: string): Promise<AppDefinition | undefined> {
    const data = await this.captain.call<{ appDefinitions?: AppDefinition[] }>(
      'GET',
      '/user/apps/appDefinitions',
    );
    return data?.appDefinitions?.find((app) => app.appName === appName);
  }

  private async register(appName: string): Promise<AppDefinition> {
    await this.captain.call('POST', '/user/apps/appDefinitions/register', {
      appName,
      hasPersistentData: false,
    });
    this.logger.info({ app: appName }, 'caprover app registered');
    const registered = await this.definition(appName);
    if (!registered)
      throw new HttpError(
        502,
        'TRAFFIC_CAPROVER_ERROR',
        `CapRover registered ${appName} but does not list it.`,
      );
    return registered;
  }

  /** Sends the whole definition back with `changes` applied (POST update replaces it). */
  private async update(current: AppDefinition, changes: Partial<AppDefinition>): Promise<void> {
    const body: Record<string, unknown> = { appName: current.appName };
    for (const field of UPDATE_FIELDS)
      if (current[field] !== undefined) body[field] = current[field];
    await this.captain.call('POST', '/user/apps/appDefinitions/update', { ...body, ...changes });
  }

  /** Waits for the build a detached deploy started; a failed one names its last log lines. */
  private async deployed(appName: string, image: string): Promise<void> {
    const deadline = Date.now() + this.config.deployTimeout;
    for (;;) {
      const build = await this.captain.call<BuildStatus>('GET', appData(appName));
      if (!build?.isAppBuilding) {
        if (!build?.isBuildFailed) return;
        const tail = (build.logs?.lines ?? []).filter((line) => line.trim() !== '').slice(-3);
        throw new HttpError(
          502,
          'TRAFFIC_CAPROVER_DEPLOY_FAILED',
          `CapRover could not deploy ${image} to ${appName}: ${tail.join(' / ') || 'build failed'}`,
        );
      }
      if (Date.now() >= deadline)
        throw new HttpError(
          502,
          'TRAFFIC_CAPROVER_DEPLOY_FAILED',
          `CapRover was still deploying ${image} to ${appName} after ${this.config.deployTimeout} ms (orchestrator.deployTimeout).`,
        );
      await new Promise((resolve) => setTimeout(resolve, this.config.pollInterval));
    }
  }
}

/** The image of the version CapRover runs, if one was deployed. */
function deployedImage(app: AppDefinition): string | undefined {
  return app.versions?.find((version) => version.version === app.deployedVersion)
    ?.deployedImageName;
}

const appData = (appName: string) => `/user/apps/appData/${encodeURIComponent(appName)}`;

/** The app's env vars with ours set: theirs keep their order, ours replace or follow them. */
function withEnv(existing: readonly EnvVar[], ours: readonly EnvVar[]): EnvVar[] {
  const set = new Map(ours.map((entry) => [entry.key, entry.value]));
  const merged = existing.map((entry) =>
    set.has(entry.key) ? { key: entry.key, value: set.get(entry.key)! } : entry,
  );
  for (const entry of ours)
    if (!existing.some((other) => other.key === entry.key)) merged.push(entry);
  return merged;
}

/** The app's port mappings with the slot's published port mapped to the container port. */
function withPort(
  existing: readonly PortMapping[],
  containerPort: number,
  hostPort: number,
): PortMapping[] {
  const mapping = { containerPort, hostPort };
  if (!existing.some((other) => other.hostPort === hostPort)) return [...existing, mapping];
  return existing.map((other) => (other.hostPort === hostPort ? { ...other, ...mapping } : other));
}
