import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { KubernetesApi, failure, type ApiAnswer } from '../kubernetes-api.js';

/** What `.ci/kubernetes.sh` writes once the control plane is up. */
export const KUBE_ENV_FILE =
  process.env.QWICKAPPS_KUBE_ENV ?? '/var/cache/qwickapps/kubernetes/env';

export const RBAC_MANIFEST = fileURLToPath(new URL('../kubernetes-rbac.yaml', import.meta.url));

export interface KubeCluster {
  version: string;
  apiUrl: string;
  caFile: string;
  adminToken: string;
  clientCert: string;
  clientKey: string;
  /** The admin kubeconfig (client certificate). */
  kubeconfig: string;
  /** Calls with the admin token. */
  admin: KubernetesApi;
}

function readEnv(file: string): Record<string, string> | undefined {
  try {
    return Object.fromEntries(
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  } catch {
    return undefined;
  }
}

/**
 * The control plane `.ci/kubernetes.sh` runs, when it answers. When it does not: with `CI=true`
 * this throws (a missing server fails the run); elsewhere it warns loudly and answers undefined.
 */
export async function kubeCluster(): Promise<KubeCluster | undefined> {
  const env = readEnv(KUBE_ENV_FILE);
  let problem = `${KUBE_ENV_FILE} is missing`;
  if (env) {
    const admin = new KubernetesApi(
      {
        apiUrl: env.KUBE_API_URL,
        namespace: 'default',
        source: KUBE_ENV_FILE,
        token: () => Promise.resolve(env.KUBE_ADMIN_TOKEN),
        tls: { ca: await readFile(env.KUBE_CA_FILE, 'utf8').catch(() => undefined) },
      },
      5_000,
    );
    try {
      const answer = await admin.call('GET', '/version');
      if (answer.status === 200)
        return {
          version: (answer.body as { gitVersion: string }).gitVersion,
          apiUrl: env.KUBE_API_URL,
          caFile: env.KUBE_CA_FILE,
          adminToken: env.KUBE_ADMIN_TOKEN,
          clientCert: env.KUBE_CLIENT_CERT,
          clientKey: env.KUBE_CLIENT_KEY,
          kubeconfig: env.KUBECONFIG,
          admin,
        };
      problem = `GET ${env.KUBE_API_URL}/version answered ${answer.status}`;
    } catch (error) {
      problem = (error as Error).message;
    }
    await admin.close();
  }
  if (process.env.CI)
    throw new Error(`kube-apiserver: ${problem}; CI requires it (.ci/kubernetes.sh starts it).`);
  console.warn(
    `\n!!! SKIPPING Kubernetes engine tests: ${problem}. Run .ci/kubernetes.sh to start a control plane. !!!\n`,
  );
  return undefined;
}

/** Polls `read` until it answers something other than undefined. */
export async function eventually<T>(
  read: () => Promise<T | undefined>,
  what: string,
  timeout = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function expectStatus(answer: ApiAnswer, action: string, ...ok: number[]): ApiAnswer {
  if (!ok.includes(answer.status)) throw failure(action, answer);
  return answer;
}

const COLLECTIONS: Record<string, string> = {
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  RoleBinding: 'rolebindings',
};

/**
 * A fresh namespace with kubernetes-rbac.yaml applied as it is (its namespace replaced), and a
 * kubeconfig whose user is the manifest's service account: a call the Role does not allow fails.
 */
export async function gatewayNamespace(
  cluster: KubeCluster,
  namespace: string,
  directory: string,
): Promise<{ kubeconfig: string; token: string }> {
  const { admin } = cluster;
  expectStatus(
    await admin.call('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    }),
    'create namespace',
    201,
  );
  const manifest = await readFile(RBAC_MANIFEST, 'utf8');
  for (const document of parseAllDocuments(manifest)) {
    const object = document.toJSON() as {
      apiVersion: string;
      kind: string;
      metadata: { namespace: string };
      subjects?: { namespace: string }[];
    };
    object.metadata.namespace = namespace;
    for (const subject of object.subjects ?? []) subject.namespace = namespace;
    const group = object.apiVersion === 'v1' ? '/api/v1' : `/apis/${object.apiVersion}`;
    expectStatus(
      await admin.call(
        'POST',
        `${group}/namespaces/${namespace}/${COLLECTIONS[object.kind]}`,
        object,
      ),
      `create ${object.kind}`,
      201,
    );
  }
  // The token controller issues the service account's token as a Secret.
  const token = await eventually(async () => {
    const secrets = await admin.call('GET', `/api/v1/namespaces/${namespace}/secrets`);
    const items =
      (
        secrets.body as {
          items?: {
            type: string;
            metadata: { annotations?: Record<string, string> };
            data?: { token?: string };
          }[];
        }
      ).items ?? [];
    const secret = items.find(
      (item) =>
        item.type === 'kubernetes.io/service-account-token' &&
        item.metadata.annotations?.['kubernetes.io/service-account.name'] === 'qwickapps-gateway' &&
        item.data?.token,
    );
    return secret ? Buffer.from(secret.data!.token!, 'base64').toString('utf8') : undefined;
  }, 'the service account token');
  const kubeconfig = path.join(directory, 'gateway.kubeconfig');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '  - name: test',
      '    cluster:',
      `      server: ${cluster.apiUrl}`,
      `      certificate-authority: ${cluster.caFile}`,
      'users:',
      '  - name: gateway',
      '    user:',
      `      token: ${token}`,
      'contexts:',
      '  - name: gateway',
      '    context:',
      '      cluster: test',
      '      user: gateway',
      `      namespace: ${namespace}`,
      'current-context: gateway',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return { kubeconfig, token };
}

export async function deleteNamespace(cluster: KubeCluster, namespace: string): Promise<void> {
  await cluster.admin.call('DELETE', `/api/v1/namespaces/${namespace}`);
}
