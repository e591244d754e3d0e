import http from 'node:http';

/** The dockerd `.ci/docker.sh` starts, or another one named by QWICKAPPS_DOCKER_SOCKET. */
export const DOCKER_SOCKET = process.env.QWICKAPPS_DOCKER_SOCKET ?? '/run/qwickapps-docker.sock';
/** The image `.ci/docker.sh` builds: the machine's Node serving `.ci/docker/release.mjs`. */
export const TEST_IMAGE = 'qwickapps-test/release:latest';

/**
 * One call to the Engine, unversioned (the Engine's own current version), for tests to look at
 * and act on containers independently of the orchestrator's client.
 */
export function engineCall(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: () => unknown; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: DOCKER_SOCKET,
        path,
        method,
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) as unknown }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * True when the Engine answers and has the test image. When it does not: in CI (`CI=true`) this
 * throws, so a missing engine fails the run; elsewhere it prints a loud warning and the caller
 * registers one test that says so instead of its suite.
 */
export async function dockerEngineAvailable(): Promise<boolean> {
  let problem: string | undefined;
  try {
    const ping = await engineCall('GET', '/_ping');
    const image = await engineCall('GET', `/images/${TEST_IMAGE}/json`);
    if (ping.status !== 200) problem = `dockerd on ${DOCKER_SOCKET} answered ${ping.status}`;
    else if (image.status !== 200) problem = `dockerd has no ${TEST_IMAGE} image`;
  } catch (error) {
    problem = `no dockerd on ${DOCKER_SOCKET} (${(error as Error).message})`;
  }
  if (!problem) return true;
  if (process.env.CI) throw new Error(`${problem}; CI requires it (.ci/docker.sh starts it).`);
  console.warn(
    `\n!!! SKIPPING the Docker Engine tests: ${problem}. Run .ci/docker.sh (as root) to run them. !!!\n`,
  );
  return false;
}

export interface ContainerInfo {
  Id: string;
  Name: string;
  State: { Running: boolean; Pid: number; StartedAt: string; ExitCode: number };
  Config: { Image: string; Env: string[]; Labels: Record<string, string> };
  HostConfig: {
    RestartPolicy: { Name: string };
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
  };
}

export async function inspectContainer(name: string): Promise<ContainerInfo | undefined> {
  const answer = await engineCall('GET', `/containers/${name}/json`);
  return answer.status === 200 ? (answer.json() as ContainerInfo) : undefined;
}

/** Removes every container whose name starts with `prefix` (a test run's own). */
export async function removeContainers(prefix: string): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ name: [`^/${prefix}`] }));
  const list = (await engineCall('GET', `/containers/json?all=1&filters=${filters}`)).json() as {
    Id: string;
  }[];
  await Promise.all(list.map(({ Id }) => engineCall('DELETE', `/containers/${Id}?force=true`)));
}

/** The registry `.ci/docker.sh` runs on loopback, with test-only credentials, holding TEST_IMAGE. */
export const TEST_REGISTRY = {
  address: '127.0.0.1:5077',
  repository: '127.0.0.1:5077/qwickapps/release',
  username: 'qwickapps',
  password: 'registry-test-password',
} as const;

/** The `X-Registry-Auth` header for the test registry, written independently of the orchestrator. */
function testRegistryAuth(): string {
  const { username, password, address } = TEST_REGISTRY;
  return Buffer.from(JSON.stringify({ username, password, serveraddress: address })).toString(
    'base64url',
  );
}

/**
 * Pushes an image no Engine has pulled before (TEST_IMAGE with the run's label) and answers
 * its digest. The local digest reference is removed, so pulling it makes the Engine ask the
 * registry (dockerd answers a pull of a digest it once pulled from its own cache).
 */
export async function pushFreshImage(run: string): Promise<string> {
  const created = await engineCall('POST', `/containers/create?name=${run}-commit`, {
    Image: TEST_IMAGE,
  });
  if (created.status !== 201) throw new Error(`create for commit: ${created.text}`);
  const { Id } = created.json() as { Id: string };
  const changes = encodeURIComponent(`LABEL io.qwickapps.test-run=${run}-${Date.now()}`);
  const committed = await engineCall(
    'POST',
    `/commit?container=${Id}&repo=${TEST_REGISTRY.repository}&tag=${run}&changes=${changes}`,
  );
  await engineCall('DELETE', `/containers/${Id}?force=true`);
  if (committed.status !== 201) throw new Error(`commit: ${committed.text}`);
  const pushed = await new Promise<string>((resolve, reject) => {
    const req = http.request(
      {
        socketPath: DOCKER_SOCKET,
        path: `/images/${TEST_REGISTRY.repository}/push?tag=${run}`,
        method: 'POST',
        headers: { 'x-registry-auth': testRegistryAuth() },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    req.end();
  });
  const digest = /"Digest":"(sha256:[0-9a-f]{64})"/.exec(pushed)?.[1];
  if (!digest) throw new Error(`push: ${pushed}`);
  await engineCall('DELETE', `/images/${TEST_REGISTRY.repository}:${run}`);
  await engineCall('DELETE', `/images/${TEST_REGISTRY.repository}@${digest}`);
  return digest;
}
