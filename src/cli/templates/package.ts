import type { PluginNames } from './plugin.js';

/** The versions a standalone plugin package is written against: this framework's own. */
export interface PackageVersions {
  /** This package's version: the plugin's peer range is `^<framework>`. */
  framework: string;
  zod: string;
  typescript: string;
  vitest: string;
  typesNode: string;
}

/**
 * `package.json` of a plugin published on its own: the framework and zod are peers, so the
 * product's one copy of each is the one the plugin runs with.
 */
export function packageJsonFile(n: PluginNames, versions: PackageVersions): string {
  const manifest = {
    name: n.kebab,
    version: '0.1.0',
    description: `${n.title}: a @qwickapps/server plugin.`,
    type: 'module',
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    files: ['dist'],
    scripts: {
      build: 'tsc -p tsconfig.build.json',
      typecheck: 'tsc -p tsconfig.json --noEmit',
      test: 'vitest run',
    },
    peerDependencies: { '@qwickapps/server': `^${versions.framework}`, zod: versions.zod },
    devDependencies: {
      '@qwickapps/server': `^${versions.framework}`,
      '@types/node': versions.typesNode,
      typescript: versions.typescript,
      vitest: versions.vitest,
      zod: versions.zod,
    },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export function tsconfigFile(): string {
  return `{
  "compilerOptions": {
    "target": "ES2023",
    "lib": ["ES2023"],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "verbatimModuleSyntax": true,
    "isolatedModules": true,
    "skipLibCheck": true,
    "declaration": true,
    "outDir": "dist",
    "rootDir": "src",
    "types": ["node"]
  },
  "include": ["src"]
}
`;
}

/** What \`npm run build\` compiles: the plugin without its tests. */
export function tsconfigBuildFile(): string {
  return `{
  "extends": "./tsconfig.json",
  "exclude": ["src/**/*.test.ts"]
}
`;
}

export function gitignoreFile(): string {
  return 'node_modules/\ndist/\n';
}

export function readmeFile(n: PluginNames, versions: PackageVersions): string {
  return `# ${n.kebab}

${n.title}: a plugin for [@qwickapps/server](https://www.npmjs.com/package/@qwickapps/server)
\`^${versions.framework}\`, its peer dependency: the product's copy is the one the plugin runs with.

\`\`\`sh
npm install          # then
npm test             # starts a real app with the plugin and checks its routes
npm run build        # writes dist/, what the package publishes
\`\`\`

## Use

\`\`\`ts
import { createApp } from '@qwickapps/server';
import { create${n.pascal}Plugin } from '${n.kebab}';

const app = createApp({ name: 'api', plugins: [create${n.pascal}Plugin({ greeting: 'Hi' })] });
await app.start();
\`\`\`

- \`GET /api/${n.kebab}/hello?name=Ada\` (public): \`{ "message": "Hi, Ada!" }\`.
- \`GET /api/${n.kebab}/status\` (admin): the greeting and how many greetings were served, also
  shown on the plugin's control-panel page.

Options: \`greeting\` (default \`"Hello"\`, env \`${n.constant}_GREETING\`) and \`maxNameLength\`
(default 50).

## Error codes

- \`${n.constant}_INVALID_NAME\` (400): the name to greet is over \`maxNameLength\`, or holds
  other characters than letters, digits, spaces and dashes.
`;
}
