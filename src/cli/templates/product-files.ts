/**
 * The files every generated product shares (package.json, README, .env.example, CI workflow,
 * tsconfig), laid out as Prettier would, so a product's own `prettier --check` passes.
 */

export type TemplateName = 'product' | 'service' | 'minimal';
export type AuthChoice = 'none' | 'auth0' | 'supabase' | 'dev';
export type DatabaseChoice = 'pglite' | 'postgres' | 'mysql' | 'sqlite';

export const TEMPLATES: readonly TemplateName[] = ['product', 'service', 'minimal'];
export const AUTH_CHOICES: readonly AuthChoice[] = ['none', 'auth0', 'supabase', 'dev'];
export const DATABASE_CHOICES: readonly DatabaseChoice[] = [
  'pglite',
  'postgres',
  'mysql',
  'sqlite',
];

/** What a product is generated from: its answers and this framework's versions. */
export interface ProductSpec {
  name: string;
  template: TemplateName;
  auth: AuthChoice;
  database: DatabaseChoice;
  versions: ProductVersions;
}

export interface ProductVersions {
  /** This package's version: the product depends on `^<framework>`. */
  framework: string;
  zod: string;
  tsx: string;
  typescript: string;
  vitest: string;
  typesNode: string;
  /** The database driver each choice needs, by package name. */
  drivers: Record<string, string>;
}

/** One variable of `.env.example`: what it is, and its value on embedded defaults (if any). */
export interface EnvLine {
  name: string;
  description: string;
  example?: string;
}

/** The driver package a database choice needs (PGlite ships with the framework). */
export const DRIVER: Record<DatabaseChoice, string | undefined> = {
  pglite: undefined,
  postgres: 'pg',
  mysql: 'mysql2',
  sqlite: 'better-sqlite3',
};

/** The `DATABASE_URL` a product falls back to: embedded files, or the usual local server. */
export function defaultDatabaseUrl(database: DatabaseChoice): string {
  return {
    pglite: 'pglite:.data/pglite',
    postgres: 'postgres://postgres@127.0.0.1:5432/postgres',
    mysql: 'mysql://root@127.0.0.1:3306/test',
    sqlite: 'sqlite:.data/app.db',
  }[database];
}

export function packageJsonFile(spec: ProductSpec): string {
  const drivers = new Set([DRIVER[spec.database]]);
  // A signed-in product's gateway keeps its users in a SQLite file unless it has a server.
  if (spec.template === 'product' && spec.auth !== 'none' && !/postgres|mysql/.test(spec.database))
    drivers.add('better-sqlite3');
  const driverRanges = Object.fromEntries(
    [...drivers]
      .filter((driver) => driver !== undefined)
      .map((driver) => [driver, spec.versions.drivers[driver] ?? '*']),
  );
  const manifest = {
    name: spec.name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      start: 'tsx src/main.ts',
      test: 'vitest run',
      typecheck: 'tsc --noEmit',
    },
    engines: { node: '>=20.19' },
    dependencies: {
      '@qwickapps/server': `^${spec.versions.framework}`,
      ...driverRanges,
      tsx: spec.versions.tsx,
      zod: spec.versions.zod,
    },
    devDependencies: {
      '@types/node': spec.versions.typesNode,
      typescript: spec.versions.typescript,
      vitest: spec.versions.vitest,
    },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export function tsconfigFile(): string {
  return `{
  "compilerOptions": {
    "target": "ES2023",
    "lib": ["ES2023", "DOM"],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "verbatimModuleSyntax": true,
    "isolatedModules": true,
    "skipLibCheck": true,
    "noEmit": true,
    "types": ["node"]
  },
  "include": ["src"]
}
`;
}

export function gitignoreFile(): string {
  return 'node_modules/\n.data/\n.env\n';
}

export function envExampleFile(variables: EnvLine[]): string {
  const lines = ['# Every variable the product reads; none is required on embedded defaults.'];
  for (const variable of variables)
    lines.push('', `# ${variable.description}`, `${variable.name}=${variable.example ?? ''}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The CI workflow: install, type-check and test on every push; on main, upload the commit's code
 * as the `api` service's next release and deploy it, with a key scoped to that alone
 * (`traffic:deploy:api`).
 */
export function ciWorkflowFile(spec: ProductSpec): string {
  // A product without sign-in has no API keys: its gateway's MANAGEMENT_TOKEN deploys.
  const token =
    spec.template === 'product' && spec.auth === 'none'
      ? `      # QWICKAPPS_TOKEN: the gateway's MANAGEMENT_TOKEN (set it in the gateway's environment:
      # without sign-in there are no API keys). It uploads this service's code and deploys it;
      # the gateway runs the upload (laid out as this folder) in the new slot.`
      : `      # QWICKAPPS_TOKEN: an API key scoped to traffic:deploy:api, made on the control panel's
      # API keys page. It uploads this service's code, deploys it and follows the deploy, nothing
      # else; the gateway runs the upload (laid out as this folder) in the new slot.`;
  const deploy = `
  deploy:
    needs: test
    if: github.ref == 'refs/heads/main'
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
          cache: npm
      - run: npm ci
${token}
      - run: mkdir -p release && cp -r package.json src release/
      - run: npx qwickapps release api $GITHUB_SHA release
        env:
          QWICKAPPS_URL: \${{ vars.QWICKAPPS_URL }}
          QWICKAPPS_TOKEN: \${{ secrets.QWICKAPPS_TOKEN }}
      - run: npx qwickapps deploy api $GITHUB_SHA
        env:
          QWICKAPPS_URL: \${{ vars.QWICKAPPS_URL }}
          QWICKAPPS_TOKEN: \${{ secrets.QWICKAPPS_TOKEN }}
`;
  return `name: ci
on:
  push:
  pull_request:
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
          cache: npm
      - run: npm ci
      - run: npm run typecheck
      - run: npm test
${deploy}`;
}

export function readmeFile(spec: ProductSpec, about: string, endpoints: string[]): string {
  return `# ${spec.name}

\`\`\`sh
npm start   # runs it on embedded defaults: no database server, no Redis, no account needed
npm test    # starts it on free ports and probes every endpoint
\`\`\`

${about}

## Endpoints

${endpoints.map((endpoint) => `- ${endpoint}`).join('\n')}

## Configuration

Every variable it reads is in \`.env.example\`, with what it does; all have embedded defaults.
Built on [@qwickapps/server](https://www.npmjs.com/package/@qwickapps/server)
\`^${spec.versions.framework}\`: health, logs, config, database and cache come from its plugins.
`;
}
