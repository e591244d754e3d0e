/**
 * App definitions as CapRover stores them (src/models/AppDefinition.ts in its server) and how its
 * update handler normalises a request: every field it reads is set, an omitted one to its empty
 * value. That is what makes `POST .../appDefinitions/update` a full replace.
 */

export interface StoredApp {
  hasPersistentData: boolean;
  projectId: string;
  description: string;
  instanceCount: number;
  captainDefinitionRelativeFilePath: string;
  networks: string[];
  envVars: unknown[];
  volumes: unknown[];
  ports: unknown[];
  tags: unknown[];
  versions: { version: number; deployedImageName?: string; timeStamp: string; gitHash: string }[];
  deployedVersion: number;
  notExposeAsWebApp: boolean;
  customDomain: unknown[];
  hasDefaultSubDomainSsl: boolean;
  redirectDomain: string;
  forceSsl: boolean;
  websocketSupport: boolean;
  containerHttpPort?: number;
  nodeId?: string;
  httpAuth?: unknown;
  customNginxConfig?: string;
  preDeployFunction?: string;
  serviceUpdateOverride?: string;
  appDeployTokenConfig?: { enabled: boolean; appDeployToken?: string };
  appPushWebhook?: { repoInfo?: unknown };
  [field: string]: unknown;
}

/**
 * The fields an update sets (and PATCH takes from the stored definition when omitted), listed
 * from the server's source apart from the orchestrator's own list on purpose: a field the
 * orchestrator forgot to send back must show as reset here.
 */
export const UPDATABLE = [
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

/** A freshly registered app: one instance of nothing yet, every list empty. */
export function registeredApp(hasPersistentData: boolean): StoredApp {
  return {
    hasPersistentData,
    projectId: '',
    description: '',
    instanceCount: 1,
    captainDefinitionRelativeFilePath: './captain-definition',
    networks: ['captain-overlay-network'],
    envVars: [],
    volumes: [],
    ports: [],
    tags: [],
    versions: [],
    deployedVersion: 0,
    notExposeAsWebApp: false,
    customDomain: [],
    hasDefaultSubDomainSsl: false,
    redirectDomain: '',
    forceSsl: false,
    websocketSupport: false,
  };
}

const text = (value: unknown) => `${(value as string | undefined) || ''}`;

/** What an update request leaves in the stored definition: omitted fields reset. */
export function normalizeUpdate(body: Record<string, unknown>): Partial<StoredApp> {
  const token = body.appDeployTokenConfig as StoredApp['appDeployTokenConfig'];
  const repoInfo = (body.appPushWebhook as StoredApp['appPushWebhook'])?.repoInfo;
  return {
    projectId: text(body.projectId),
    description: text(body.description),
    instanceCount: Number(body.instanceCount ?? 0),
    captainDefinitionRelativeFilePath: text(body.captainDefinitionRelativeFilePath),
    envVars: (body.envVars as unknown[] | undefined) ?? [],
    volumes: (body.volumes as unknown[] | undefined) ?? [],
    tags: (body.tags as unknown[] | undefined) ?? [],
    nodeId: text(body.nodeId),
    notExposeAsWebApp: Boolean(body.notExposeAsWebApp),
    containerHttpPort: Number(body.containerHttpPort) || 80,
    httpAuth: body.httpAuth,
    forceSsl: Boolean(body.forceSsl),
    ports: (body.ports as unknown[] | undefined) ?? [],
    appPushWebhook: repoInfo ? { repoInfo } : undefined,
    customNginxConfig: text(body.customNginxConfig),
    redirectDomain: text(body.redirectDomain),
    preDeployFunction: text(body.preDeployFunction),
    serviceUpdateOverride: text(body.serviceUpdateOverride),
    websocketSupport: Boolean(body.websocketSupport),
    appDeployTokenConfig: token
      ? { enabled: Boolean(token.enabled), appDeployToken: text(token.appDeployToken).trim() }
      : { enabled: false },
  };
}
