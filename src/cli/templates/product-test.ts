import type { ProductSpec } from './product-files.js';

/**
 * The `product` template's own test (`src/product.test.ts`): every endpoint probed through the
 * gateway, a deploy, promote and rollback cycle through the traffic API as `npx qwickapps` calls
 * it, and an auth check with a token issuer of the test's own.
 */
export function productTestFile(spec: ProductSpec): string {
  const signedIn = spec.auth !== 'none';
  const authCheck = signedIn
    ? `
  it('signs a bearer token in, and forwards the user to the service', async () => {
    expect((await fetch(\`\${base}/api/v1/me\`)).status).toBe(401);
    const headers = { authorization: \`Bearer \${token('ada', ['viewer'])}\` };
    const response = await fetch(\`\${base}/api/v1/me\`, { headers });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ subject: 'ada', roles: ['viewer'] });
  });
`
    : `
  it('answers an anonymous caller of /api/v1/me with 401', async () => {
    expect((await fetch(\`\${base}/api/v1/me\`)).status).toBe(401);
  });
`;
  const credentials = signedIn
    ? `// The test's own identity provider stands in for ${spec.auth === 'dev' ? 'the development sign-in' : spec.auth}: the same
// kind of bearer tokens, signed with a key this test holds.
const SECRET = randomBytes(32).toString('base64url');
const test = { issuer: 'test', audience: 'test', secret: SECRET, algorithms: ['HS256'] };
const providers = [jwtAdapter(test)];

/** A bearer token of the test's provider. */
function token(subject: string, roles: string[]): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: subject, iss: 'test', aud: 'test', iat: now, exp: now + 300, roles };
  const body = \`\${encode({ alg: 'HS256', typ: 'JWT' })}.\${encode(claims)}\`;
  return \`\${body}.\${createHmac('sha256', SECRET).update(body).digest('base64url')}\`;
}
const ADMIN = \`Bearer \${token('ops', ['admin'])}\`;
`
    : `const providers: never[] = [];
const PASSWORD = randomBytes(16).toString('base64url');
const ADMIN = \`Basic \${Buffer.from(\`admin:\${PASSWORD}\`).toString('base64')}\`;
`;
  return `import { ${signedIn ? 'createHmac, ' : ''}randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '@qwickapps/server/gateway';
${signedIn ? "import { jwtAdapter } from '@qwickapps/server/plugins/auth';\n" : ''}import { product } from './product.js';

${credentials}let gateway: Gateway;
let base: string;
let dataDir: string;

/** A port nobody listens on, with room for the second slot's (the next but one). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    if (port < 65000) return port;
  }
}

interface ServiceView {
  active?: { slot: string; version: string };
  slots: { id: string; state: string; version?: string; eligible: boolean }[];
}

/** The traffic API, as \\\`npx qwickapps\\\` calls it. */
async function traffic(method: string, route: string, body?: object): Promise<ServiceView> {
  const response = await fetch(\`\${base}/cpanel/api/traffic\${route}\`, {
    method,
    headers: { authorization: ADMIN, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  expect(response.ok, \`\${method} \${route}: \${response.status}\`).toBe(true);
  return (await response.json()) as ServiceView;
}

async function until(what: string, check: (view: ServiceView) => boolean): Promise<ServiceView> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const view = await traffic('GET', '/deploy?service=api');
    if (check(view)) return view;
    if (Date.now() > deadline) throw new Error(\`\${what}: not within 60 s: \${JSON.stringify(view)}\`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function helloVersion(): Promise<string> {
  const response = await fetch(\`\${base}/api/v1/hello\`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { version: string }).version;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), '${spec.name}-'));
  gateway = product.gateway({
    port: 0,
    dataDir,
    servicePort: await freePort(),
    managementToken: randomBytes(32).toString('base64url'),
    forwardSecret: randomBytes(32).toString('base64url'),
    providers,${signedIn ? '' : '\n    adminPassword: PASSWORD,'}
    traffic: { promotionDelay: 0, promotionChecks: 1, healthInterval: 200 },
  });
  await gateway.start();
  base = \`http://127.0.0.1:\${(gateway.server.address() as AddressInfo).port}\`;
  await until('v1 active', (view) => view.active?.version === 'v1');
}, 90_000);
afterAll(async () => {
  await gateway?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('${spec.name}', () => {
  it('serves the frontend, its probes and the api service through the gateway', async () => {
    const page = await fetch(\`\${base}/\`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<h1>${spec.name}</h1>');
    for (const probe of ['/health', '/health/live', '/health/ready'])
      expect((await fetch(\`\${base}\${probe}\`)).status, probe).toBe(200);
    expect(await helloVersion()).toBe('v1');
    expect((await fetch(\`\${base}/api/v1/stats\`)).status).toBe(200);
  });

  it('keeps the traffic API to those who may use it', async () => {
    expect((await fetch(\`\${base}/cpanel/api/traffic\`)).status).toBe(401);
    expect((await fetch(\`\${base}/cpanel/\`)).status).toBe(200);
  });

  it('deploys v2 beside v1, promotes it, and rolls back to v1', async () => {
    await traffic('POST', '/deploy', { service: 'api', version: 'v2' });
    await until('v2 promotable', (view) =>
      view.slots.some((slot) => slot.version === 'v2' && slot.eligible),
    );
    expect(await helloVersion()).toBe('v1');
    expect((await traffic('POST', '/promote', { service: 'api' })).active?.version).toBe('v2');
    expect(await helloVersion()).toBe('v2');
    expect((await traffic('POST', '/rollback', { service: 'api' })).active?.version).toBe('v1');
    expect(await helloVersion()).toBe('v1');
  }, 90_000);
${authCheck}});
`;
}
