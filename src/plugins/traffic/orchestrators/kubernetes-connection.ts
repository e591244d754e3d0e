import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KubernetesOrchestratorConfig } from './options.js';

/** Where a pod's service account credentials are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How to reach and authenticate to the API server, resolved once at start-up. */
export interface KubernetesConnection {
  apiUrl: string;
  namespace: string;
  /** Where the settings came from, for the start-up log (never a credential). */
  source: string;
  /** The bearer token for the next request (re-read from its file when the file changed). */
  token?: () => Promise<string>;
  tls: { ca?: string; cert?: string; key?: string };
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolves the connection the way kubectl and client-go do: explicit settings first, then the
 * kubeconfig (`kubeconfig` option or `KUBECONFIG`, current context unless `context` names one),
 * then the pod's service account (in-cluster), then `~/.kube/config`.
 */
export async function resolveConnection(
  config: KubernetesOrchestratorConfig,
  env: Env = process.env,
): Promise<KubernetesConnection> {
  if (config.apiUrl) return explicitConnection(config, config.apiUrl);
  const kubeconfig = config.kubeconfig ?? env.KUBECONFIG;
  if (kubeconfig) return kubeconfigConnection(config, kubeconfig, 'KUBECONFIG');
  if (env.KUBERNETES_SERVICE_HOST) return inClusterConnection(config, env);
  const home = path.join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return kubeconfigConnection(config, home, home);
  throw new Error(
    'kubernetes orchestrator: no API server to talk to. Set orchestrator.apiUrl, orchestrator.kubeconfig or KUBECONFIG, or run the gateway in a pod with a service account.',
  );
}

async function explicitConnection(
  config: KubernetesOrchestratorConfig,
  apiUrl: string,
): Promise<KubernetesConnection> {
  const tokenFile = config.tokenFile ?? existing(path.join(SERVICE_ACCOUNT_DIR, 'token'));
  const caFile = config.caFile ?? existing(path.join(SERVICE_ACCOUNT_DIR, 'ca.crt'));
  return {
    apiUrl,
    namespace: config.namespace ?? (await serviceAccountNamespace()) ?? 'default',
    source: 'orchestrator.apiUrl',
    token: config.token ? constant(config.token) : tokenFile ? tokenFrom(tokenFile) : undefined,
    tls: { ca: caFile ? await readFile(caFile, 'utf8') : undefined },
  };
}

async function inClusterConnection(
  config: KubernetesOrchestratorConfig,
  env: Env,
): Promise<KubernetesConnection> {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const tokenFile = config.tokenFile ?? path.join(SERVICE_ACCOUNT_DIR, 'token');
  const caFile = config.caFile ?? path.join(SERVICE_ACCOUNT_DIR, 'ca.crt');
  return {
    apiUrl: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    // The namespace file sits beside the token, as the kubelet mounts them.
    namespace:
      config.namespace ?? (await serviceAccountNamespace(path.dirname(tokenFile))) ?? 'default',
    source: 'in-cluster service account',
    token: config.token ? constant(config.token) : tokenFrom(tokenFile),
    tls: { ca: await readFile(caFile, 'utf8') },
  };
}

interface KubeconfigEntry<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}

interface KubeconfigCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
}

interface KubeconfigUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
}

interface KubeconfigContext {
  cluster?: string;
  user?: string;
  namespace?: string;
}

interface KubeconfigFile {
  dir: string;
  clusters: KubeconfigEntry<KubeconfigCluster>[];
  users: KubeconfigEntry<KubeconfigUser>[];
  contexts: KubeconfigEntry<KubeconfigContext>[];
  currentContext?: string;
}

/** One kubeconfig file; relative paths inside it are relative to the file, as kubectl reads them. */
async function loadKubeconfig(file: string): Promise<KubeconfigFile> {
  const document = (parseYaml(await readFile(file, 'utf8')) ?? {}) as Record<string, unknown>;
  const entries = <T>(key: string, field: string) =>
    ((document[key] as Record<string, unknown>[] | undefined) ?? []).map((entry) => ({
      name: String(entry.name),
      value: entry[field] as T | undefined,
    }));
  return {
    dir: path.dirname(path.resolve(file)),
    clusters: entries<KubeconfigCluster>('clusters', 'cluster'),
    users: entries<KubeconfigUser>('users', 'user'),
    contexts: entries<KubeconfigContext>('contexts', 'context'),
    currentContext: document['current-context'] as string | undefined,
  };
}

async function kubeconfigConnection(
  config: KubernetesOrchestratorConfig,
  list: string,
  source: string,
): Promise<KubernetesConnection> {
  // KUBECONFIG may list several files: the first to name an entry (or the context) wins.
  const files = await Promise.all(
    list
      .split(path.delimiter)
      .filter(Boolean)
      .map((file) =>
        loadKubeconfig(file).catch((error: unknown) => {
          throw new Error(`kubeconfig ${file} could not be read: ${(error as Error).message}`);
        }),
      ),
  );
  const find = <T>(kind: 'clusters' | 'users' | 'contexts', name: string) => {
    for (const file of files) {
      const entry = file[kind].find((candidate) => candidate.name === name);
      if (entry) return { value: (entry.value ?? {}) as T, dir: file.dir };
    }
    throw new Error(`kubeconfig ${list}: no ${kind.slice(0, -1)} named "${name}"`);
  };
  const contextName = config.context ?? files.find((file) => file.currentContext)?.currentContext;
  if (!contextName)
    throw new Error(`kubeconfig ${list} has no current-context; set orchestrator.context`);
  const context = find<KubeconfigContext>('contexts', contextName).value;
  const cluster = find<KubeconfigCluster>('clusters', context.cluster ?? '');
  const user = context.user
    ? find<KubeconfigUser>('users', context.user)
    : { value: {} as KubeconfigUser, dir: '' };
  if (!cluster.value.server)
    throw new Error(`kubeconfig ${list}: cluster "${context.cluster}" has no server`);
  if (cluster.value['insecure-skip-tls-verify'])
    throw new Error(
      `kubeconfig ${list}: cluster "${context.cluster}" sets insecure-skip-tls-verify; give its certificate-authority instead`,
    );
  if (user.value.exec || user.value['auth-provider'])
    throw new Error(
      `kubeconfig ${list}: user "${context.user}" authenticates with exec or auth-provider, which the gateway does not run; use a token, a token file or a client certificate`,
    );
  const material = async (inline: string | undefined, file: string | undefined, dir: string) =>
    inline !== undefined
      ? Buffer.from(inline, 'base64').toString('utf8')
      : file !== undefined
        ? readFile(path.resolve(dir, file), 'utf8')
        : undefined;
  const tokenFile = user.value.tokenFile ? path.resolve(user.dir, user.value.tokenFile) : undefined;
  return {
    apiUrl: cluster.value.server,
    namespace: config.namespace ?? context.namespace ?? 'default',
    source: `${source} (context ${contextName})`,
    token: config.token
      ? constant(config.token)
      : user.value.token
        ? constant(user.value.token)
        : tokenFile
          ? tokenFrom(tokenFile)
          : undefined,
    tls: {
      ca: await material(
        cluster.value['certificate-authority-data'],
        cluster.value['certificate-authority'],
        cluster.dir,
      ),
      cert: await material(
        user.value['client-certificate-data'],
        user.value['client-certificate'],
        user.dir,
      ),
      key: await material(user.value['client-key-data'], user.value['client-key'], user.dir),
    },
  };
}

function existing(file: string): string | undefined {
  return existsSync(file) ? file : undefined;
}

async function serviceAccountNamespace(dir = SERVICE_ACCOUNT_DIR): Promise<string | undefined> {
  try {
    return (await readFile(path.join(dir, 'namespace'), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

const constant = (token: string) => () => Promise.resolve(token);

/**
 * A token file read again whenever it changed: projected service-account tokens are rotated by
 * the kubelet (an atomic swap of the file), and a token read once expires within the hour.
 */
export function tokenFrom(file: string): () => Promise<string> {
  let seen: { stamp: string; token: string } | undefined;
  return async () => {
    let stamp: string;
    try {
      const info = await stat(file);
      stamp = `${info.ino}:${info.mtimeMs}:${info.size}`;
      if (seen?.stamp === stamp) return seen.token;
      seen = { stamp, token: (await readFile(file, 'utf8')).trim() };
      return seen.token;
    } catch (error) {
      throw new Error(
        `kubernetes token file ${file} could not be read: ${(error as Error).message}`,
      );
    }
  };
}
