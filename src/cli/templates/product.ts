import { productTestFile } from './product-test.js';
import { databaseOption, serviceEnv, serviceFiles } from './service.js';
import type { AuthChoice, EnvLine, ProductSpec } from './product-files.js';

/**
 * The `product` template: `src/product.ts` defines the whole product with `defineProduct`: a
 * gateway with the control panel, the `api` service (the service template's routes) in traffic
 * slots run by the process orchestrator, the frontend in `public/`, and with an auth provider
 * the users, roles and API keys plugins. `src/main.ts` runs it, as the gateway or, in a slot, as
 * the service.
 */

const PROVIDER_ENV: Record<AuthChoice, EnvLine[]> = {
  none: [],
  dev: [
    {
      name: 'DEV_AUTH_SECRET',
      description:
        'Development sign-in: HS256 key (32+ characters) of bearer tokens with iss "dev"; random per run when unset',
    },
  ],
  auth0: [
    { name: 'AUTH0_DOMAIN', description: 'Auth0 tenant domain (example.us.auth0.com)' },
    { name: 'AUTH0_CLIENT_ID', description: "The Auth0 application's client id" },
    { name: 'AUTH0_CLIENT_SECRET', description: "The Auth0 application's client secret" },
    { name: 'AUTH0_AUDIENCE', description: "The Auth0 API's identifier (the tokens' aud)" },
    { name: 'AUTH0_ROLES_CLAIM', description: 'The namespaced claim an Action puts roles in' },
  ],
  supabase: [
    { name: 'SUPABASE_URL', description: 'Supabase project URL (https://<ref>.supabase.co)' },
    { name: 'SUPABASE_ANON_KEY', description: "The Supabase project's anon (publishable) key" },
  ],
};

export function productEnv(spec: ProductSpec): EnvLine[] {
  const service = serviceEnv(spec).filter(
    (line) => !['PORT', 'HOST', 'VERSION', 'MANAGEMENT_TOKEN'].includes(line.name),
  );
  return [
    { name: 'PORT', description: 'Port the gateway listens on', example: '3000' },
    { name: 'HOST', description: 'Interface the gateway binds', example: '127.0.0.1' },
    {
      name: 'SERVICE_PORT',
      description: "The api service's first slot port (the second takes the next but one)",
      example: '3100',
    },
    {
      name: 'ADMIN_PASSWORD',
      description: 'Control panel password (user admin); a one-time one is printed when unset',
    },
    {
      name: 'MANAGEMENT_TOKEN',
      description:
        'Bearer token (32+ characters) for the management and traffic APIs; random per run when unset',
    },
    {
      name: 'AUTH_FORWARD_SECRET',
      description:
        'Key (32+ characters) of the identity the gateway forwards to the service; random per run when unset',
    },
    ...service.filter((line) => line.name !== 'AUTH_FORWARD_SECRET'),
    {
      name: 'PUBLIC_URL',
      description:
        'The public origin (https://shop.example.com) browser sign-ins return to; default this machine',
    },
    ...PROVIDER_ENV[spec.auth],
  ];
}

export const PRODUCT_ENDPOINTS = [
  '`GET /`: the frontend (`public/`)',
  '`GET /api/v1/hello`, `/api/v1/stats`, `/api/v1/me`: the `api` service, through the gateway',
  '`/cpanel`: the control panel (user `admin`, `ADMIN_PASSWORD`)',
  '`/cpanel/api/traffic/*`: deploy, promote and roll back the `api` service (`npx qwickapps status`)',
  '`GET /health`, `/health/live`, `/health/ready`: probes',
];

export function productFiles(spec: ProductSpec): Map<string, string> {
  const files = serviceFiles(spec);
  files.delete('src/service.ts');
  files.set('src/product.ts', productFile(spec));
  files.set('src/main.ts', mainFile());
  files.set('src/product.test.ts', productTestFile(spec));
  files.set('public/index.html', indexHtml(spec));
  if (spec.auth === 'auth0' || spec.auth === 'supabase')
    files.set('public/sign-in.js', signInScript());
  return files;
}

const SIGN_IN: Record<AuthChoice, string> = {
  none: 'nobody signs in',
  dev: 'development bearer tokens (DEV_AUTH_SECRET)',
  auth0: 'Auth0',
  supabase: 'Supabase',
};

function productFile(spec: ProductSpec): string {
  const signedIn = spec.auth !== 'none';
  return `import { defineProduct } from '@qwickapps/server/product';
import { api } from './routes.js';

/**
 * ${spec.name}: the frontend (public/) at /, the api service in traffic slots at /api/v1 and
 * the control panel at /cpanel. Sign-in: ${SIGN_IN[spec.auth]}.
 * Every setting has a default and a variable in .env.example; the framework does the rest.
 */
export const product = defineProduct({
  name: '${spec.name}',
  root: new URL('..', import.meta.url),
  auth: '${spec.auth}',${signedIn ? "\n  roles: { admin: ['*'], viewer: ['read:*'] }," : ''}
  database: ${databaseOption(spec)},
  services: { api: { match: '/api/v1/*', plugins: [api] } },
});
`;
}

function mainFile(): string {
  return `import { product } from './product.js';

// The gateway; in a traffic slot (QWICKAPPS_SERVICE=api), the api service.
await product.main();
`;
}

/** The sign-in part of the page: a link (Auth0), a form (Supabase), or nothing to click. */
const SIGN_IN_HTML: Record<AuthChoice, string> = {
  none: '',
  dev: `
    <p id="who">Signed out: send a bearer token signed with DEV_AUTH_SECRET to /api/v1/me.</p>`,
  auth0: `
    <p id="who">Signed out.</p>
    <p><a href="/auth/login">Sign in</a></p>
    <form method="post" action="/auth/logout"><button>Sign out</button></form>
    <script type="module" src="/sign-in.js"></script>`,
  supabase: `
    <p id="who">Signed out.</p>
    <form id="sign-in">
      <input name="email" type="email" placeholder="email" required />
      <input name="password" type="password" placeholder="password" required />
      <button>Sign in</button>
    </form>
    <form method="post" action="/auth/logout"><button>Sign out</button></form>
    <script type="module" src="/sign-in.js"></script>`,
};

function indexHtml(spec: ProductSpec): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${spec.name}</title>
  </head>
  <body>
    <h1>${spec.name}</h1>
    <p>The API answers at <a href="/api/v1/hello">/api/v1/hello</a>.</p>${SIGN_IN_HTML[spec.auth]}
  </body>
</html>
`;
}

/** The page's script (a file: the gateway's CSP allows no inline script). */
function signInScript(): string {
  return `// Who is signed in: the api service answers with the user the gateway forwarded.
const who = document.getElementById('who');
const me = await fetch('/api/v1/me');
if (me.ok) {
  const user = await me.json();
  who.textContent = \`Signed in as \${user.name ?? user.email ?? user.subject}.\`;
}

// Supabase: email and password go to the gateway, which keeps the session in a cookie.
const form = document.getElementById('sign-in');
form?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const answer = await fetch('/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(Object.fromEntries(new FormData(form))),
  });
  if (answer.ok) location.reload();
  else who.textContent = (await answer.json()).detail ?? 'Sign-in failed.';
});
`;
}
