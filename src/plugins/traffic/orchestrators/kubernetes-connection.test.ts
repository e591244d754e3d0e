import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConnection, tokenFrom } from './kubernetes-connection.js';
import { kubernetesOrchestratorSchema, type OrchestratorOptions } from './options.js';

/** How the orchestrator finds its API server and credentials (kubectl's rules); no server needed. */

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'kubeconfig-'));
});
afterEach(() => rm(directory, { recursive: true, force: true }));

const config = (options: Partial<OrchestratorOptions> = {}) =>
  kubernetesOrchestratorSchema.parse({ type: 'kubernetes', image: 'api:{version}', ...options });

const kubeconfig = async (name: string, text: string) => {
  const file = path.join(directory, name);
  await writeFile(file, text);
  return file;
};

const TWO_CONTEXTS = `apiVersion: v1
kind: Config
clusters:
  - name: prod
    cluster:
      server: https://prod.example.com:6443
      certificate-authority-data: ${Buffer.from('PROD CA').toString('base64')}
  - name: staging
    cluster:
      server: https://staging.example.com
      certificate-authority: certs/staging-ca.crt
users:
  - name: deployer
    user:
      token: deployer-token
  - name: robot
    user:
      client-certificate: certs/robot.crt
      client-key-data: ${Buffer.from('ROBOT KEY').toString('base64')}
contexts:
  - name: prod
    context: { cluster: prod, user: deployer, namespace: shop }
  - name: staging
    context: { cluster: staging, user: robot }
current-context: prod
`;

describe('kubernetes connection', () => {
  it("uses the current context's server, CA, token and namespace", async () => {
    const file = await kubeconfig('config', TWO_CONTEXTS);
    const connection = await resolveConnection(config(), { KUBECONFIG: file });
    expect(connection).toMatchObject({
      apiUrl: 'https://prod.example.com:6443',
      namespace: 'shop',
      source: 'KUBECONFIG (context prod)',
      tls: { ca: 'PROD CA' },
    });
    expect(await connection.token?.()).toBe('deployer-token');
  });

  it('takes another context by name, reading files relative to the kubeconfig', async () => {
    await mkdir(path.join(directory, 'certs'));
    await writeFile(path.join(directory, 'certs/staging-ca.crt'), 'STAGING CA');
    await writeFile(path.join(directory, 'certs/robot.crt'), 'ROBOT CERT');
    const file = await kubeconfig('config', TWO_CONTEXTS);
    const connection = await resolveConnection(
      config({ kubeconfig: file, context: 'staging' }),
      {},
    );
    expect(connection).toMatchObject({
      apiUrl: 'https://staging.example.com',
      namespace: 'default',
      tls: { ca: 'STAGING CA', cert: 'ROBOT CERT', key: 'ROBOT KEY' },
    });
    expect(connection.token).toBeUndefined();
  });

  it('falls back to ~/.kube/config, and says what to set when there is none', async () => {
    await expect(resolveConnection(config(), { HOME: directory })).rejects.toThrow(
      /no API server to talk to\. Set orchestrator\.apiUrl, orchestrator\.kubeconfig or KUBECONFIG/,
    );
    await mkdir(path.join(directory, '.kube'));
    await writeFile(path.join(directory, '.kube/config'), TWO_CONTEXTS);
    const connection = await resolveConnection(config(), { HOME: directory });
    expect(connection.apiUrl).toBe('https://prod.example.com:6443');
  });

  it('refuses what it cannot honour safely, naming the file and the entry', async () => {
    const insecure = await kubeconfig(
      'insecure',
      TWO_CONTEXTS.replace(
        'server: https://prod.example.com:6443',
        'server: https://prod.example.com:6443\n      insecure-skip-tls-verify: true',
      ),
    );
    await expect(resolveConnection(config({ kubeconfig: insecure }), {})).rejects.toThrow(
      'cluster "prod" sets insecure-skip-tls-verify; give its certificate-authority instead',
    );
    const exec = await kubeconfig(
      'exec',
      TWO_CONTEXTS.replace('token: deployer-token', 'exec: { command: aws }'),
    );
    await expect(resolveConnection(config({ kubeconfig: exec }), {})).rejects.toThrow(
      'user "deployer" authenticates with exec or auth-provider',
    );
    await expect(
      resolveConnection(config({ kubeconfig: exec, context: 'nope' }), {}),
    ).rejects.toThrow('no context named "nope"');
  });

  it("in a pod: the service's address, the mounted token, CA and namespace", async () => {
    await writeFile(path.join(directory, 'token'), 'pod-token\n');
    await writeFile(path.join(directory, 'ca.crt'), 'CLUSTER CA');
    await writeFile(path.join(directory, 'namespace'), 'payments');
    const connection = await resolveConnection(
      config({ tokenFile: path.join(directory, 'token'), caFile: path.join(directory, 'ca.crt') }),
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
    );
    expect(connection).toMatchObject({
      apiUrl: 'https://[fd00::1]:443',
      namespace: 'payments',
      tls: { ca: 'CLUSTER CA' },
    });
    expect(await connection.token?.()).toBe('pod-token');
    // The explicit namespace wins over the service account's.
    const explicit = await resolveConnection(
      config({
        namespace: 'shop',
        tokenFile: path.join(directory, 'token'),
        caFile: path.join(directory, 'ca.crt'),
      }),
      { KUBERNETES_SERVICE_HOST: '10.0.0.1' },
    );
    expect(explicit.namespace).toBe('shop');
  });

  it('reads a token file again once it changed, and says which file it could not read', async () => {
    const file = path.join(directory, 'token');
    await writeFile(file, 'first');
    const token = tokenFrom(file);
    expect(await token()).toBe('first');
    await writeFile(file, 'second-token');
    expect(await token()).toBe('second-token');
    await rm(file);
    await expect(token()).rejects.toThrow(`kubernetes token file ${file} could not be read`);
  });
});
