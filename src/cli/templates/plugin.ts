/**
 * The files of a generated plugin, in the shape `src/plugins/README.md` describes. Each function
 * returns one file's text, already laid out as Prettier would, so a product's `prettier --check`
 * passes on what it generates. Imports name only the package's public API.
 */

/** The spellings of one plugin name that its files use. */
export interface PluginNames {
  /** Kebab case, as given: `inventory-sync`. */
  kebab: string;
  /** `InventorySync`: the factory and types (`createInventorySyncPlugin`). */
  pascal: string;
  /** `inventorySync`: the options schema (`inventorySyncOptionsSchema`). */
  camel: string;
  /** `INVENTORY_SYNC`: the prefix of its error codes and environment variables. */
  constant: string;
  /** Words for people: `Inventory sync`. */
  title: string;
}

export function pluginNames(kebab: string): PluginNames {
  const words = kebab.split('-');
  const capitalised = words.map((word) => word[0]!.toUpperCase() + word.slice(1));
  return {
    kebab,
    pascal: capitalised.join(''),
    camel: words[0] + capitalised.slice(1).join(''),
    constant: words.join('_').toUpperCase(),
    title: capitalised[0] + (words.length > 1 ? ` ${words.slice(1).join(' ')}` : ''),
  };
}

/** Prettier's print width, which a product's formatter checks the generated files against. */
const PRINT_WIDTH = 100;

/** A function's first line as Prettier lays it out: on one line when it fits, else one parameter a line. */
function signature(head: string, parameters: string[], tail: string): string {
  const oneLine = `${head}${parameters.join(', ')}${tail}`;
  if (oneLine.length <= PRINT_WIDTH) return oneLine;
  return `${head}\n${parameters.map((parameter) => `  ${parameter},\n`).join('')}${tail}`;
}

/** `framework`: the framework's version the plugin is written against, its `requires.core` floor. */
export function indexFile(n: PluginNames, framework: string): string {
  return `import type { ServerPlugin } from '@qwickapps/server';
import { ${n.camel}OptionsSchema } from './options.js';
import type { ${n.pascal}Config, ${n.pascal}Options } from './options.js';
import { ${n.camel}Panel } from './panel.js';
import { ${n.camel}Routes, type Counters } from './routes.js';

export { ${n.constant}_ERRORS } from './errors.js';
export type { ${n.pascal}Config, ${n.pascal}Options } from './options.js';

/**
 * ${n.title}: greets callers and counts the greetings.
 * - \`GET /api/${n.kebab}/hello?name=\` (public): \`{ message }\`; a bad name is a 400
 *   \`${n.constant}_INVALID_NAME\`.
 * - \`GET /api/${n.kebab}/status\` (admin): \`{ greeting, greeted }\`, shown on its panel page.
 *
 * @example createApp({ name: 'api', plugins: [create${n.pascal}Plugin({ greeting: 'Hi' })] })
 */
${signature(`export function create${n.pascal}Plugin(`, [`options: ${n.pascal}Options = {}`], `): ServerPlugin<${n.pascal}Config> {`)}
  const counters: Counters = { greeted: 0 };
  return {
    name: '${n.kebab}',
    version: '0.1.0',
    // createApp refuses to start with a framework this plugin was not written for.
    requires: { core: '^${framework}' },
    // createApp validates the options with the app's, and names every bad one in a ConfigError.
    config: {
      schema: ${n.camel}OptionsSchema,
      options,
      env: { greeting: '${n.constant}_GREETING' },
    },
    onInit(ctx) {
      ctx.logger.info({ greeting: ctx.config.greeting }, '${n.kebab} ready');
    },
    routes: (ctx) => ${n.camel}Routes(ctx.config, counters),
    ui: ${n.camel}Panel,
  };
}
`;
}

export function optionsFile(n: PluginNames): string {
  return `import { z } from 'zod';

export const ${n.camel}OptionsSchema = z.strictObject({
  /** What \`GET /api/${n.kebab}/hello\` greets with (env ${n.constant}_GREETING). Default "Hello". */
  greeting: z.string().trim().min(1).max(100).default('Hello'),
  /** Longest name \`GET /api/${n.kebab}/hello?name=\` accepts, in characters. Default 50. */
  maxNameLength: z.number().int().min(1).max(1_000).default(50),
});

export type ${n.pascal}Options = z.input<typeof ${n.camel}OptionsSchema>;
export type ${n.pascal}Config = z.output<typeof ${n.camel}OptionsSchema>;
`;
}

export function routesFile(n: PluginNames): string {
  return `import { HttpError, type RouteDefinition } from '@qwickapps/server';
import type { ${n.pascal}Config } from './options.js';

export const ${n.constant}_STATUS_PATH = '/api/${n.kebab}/status';

/** What the admin route reports, counted since start-up. */
export interface Counters {
  greeted: number;
}

/** Letters, digits, spaces and dashes: a name shown back to the caller. */
const NAME = /^[\\p{L}\\p{N} -]+$/u;

${signature(`export function ${n.camel}Routes(`, [`config: ${n.pascal}Config`, 'counters: Counters'], '): RouteDefinition[] {')}
  return [
    {
      method: 'get',
      path: '/api/${n.kebab}/hello',
      access: 'public',
      description: 'Greets ?name= (default "world")',
      handler: (req, res) => {
        const name = req.query.name ?? 'world';
        if (typeof name !== 'string' || name.length > config.maxNameLength || !NAME.test(name))
          throw new HttpError(
            400,
            '${n.constant}_INVALID_NAME',
            \`name must be 1 to \${config.maxNameLength} letters, digits, spaces or dashes\`,
          );
        counters.greeted++;
        res.json({ message: \`\${config.greeting}, \${name}!\` });
      },
    },
    {
      method: 'get',
      path: ${n.constant}_STATUS_PATH,
      access: 'admin',
      description: 'The greeting in use and how many greetings were served',
      handler: (_req, res) => {
        res.json({ greeting: config.greeting, greeted: counters.greeted });
      },
    },
  ];
}
`;
}

export function panelFile(n: PluginNames): string {
  return `import type { UIContribution } from '@qwickapps/server';
import { ${n.constant}_STATUS_PATH } from './routes.js';

/** Its control-panel page: the admin status route, refreshed every few seconds. */
export const ${n.camel}Panel: UIContribution = {
  pages: [
    {
      id: '${n.kebab}',
      title: '${n.title}',
      route: '/${n.kebab}',
      icon: 'puzzle',
      views: [
        {
          kind: 'keyValue',
          title: 'Status',
          endpoint: ${n.constant}_STATUS_PATH,
          refreshMs: 5_000,
          fields: [
            { path: 'greeting', label: 'Greeting' },
            { path: 'greeted', label: 'Greetings served' },
          ],
        },
      ],
    },
  ],
};
`;
}

export function errorsFile(n: PluginNames): string {
  return `import type { ErrorCodeTable } from '@qwickapps/server';

/** Every code this plugin answers with, each with one status. */
export const ${n.constant}_ERRORS = {
  ${n.constant}_INVALID_NAME: {
    status: 400,
    meaning: 'The name to greet is over maxNameLength, or not letters, digits, spaces, dashes.',
  },
} as const satisfies ErrorCodeTable;
`;
}

export function testFile(n: PluginNames): string {
  return `import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, createApp, type App } from '@qwickapps/server';
import { create${n.pascal}Plugin, type ${n.pascal}Options } from './index.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

/** Starts a real app with the plugin on a free port and returns its base URL. */
async function start(options: ${n.pascal}Options = {}): Promise<string> {
  app = createApp({
    name: '${n.kebab}-test',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins: [create${n.pascal}Plugin(options)],
  });
  await app.start();
  return \`http://127.0.0.1:\${(app.server.address() as AddressInfo).port}\`;
}

describe('${n.kebab} plugin', () => {
  it('greets on its public route, with the default greeting', async () => {
    const base = await start();
    const response = await fetch(\`\${base}/api/${n.kebab}/hello?name=Ada\`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: 'Hello, Ada!' });
  });

  it('answers a bad name with a 400 problem naming its code', async () => {
    const base = await start({ maxNameLength: 5 });
    const response = await fetch(\`\${base}/api/${n.kebab}/hello?name=Bartholomew\`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await response.json()).toMatchObject({ code: '${n.constant}_INVALID_NAME' });
  });

  it('reports the greeting and the count on its admin route, shown on its panel page', async () => {
    const base = await start({ greeting: 'Hi' });
    await fetch(\`\${base}/api/${n.kebab}/hello\`);
    const response = await fetch(\`\${base}/api/${n.kebab}/status\`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ greeting: 'Hi', greeted: 1 });
    const pages = app!.context.ui().flatMap(({ contribution }) => contribution.pages ?? []);
    const page = pages.find((entry) => entry.id === '${n.kebab}');
    expect(page?.views.map((view) => ('endpoint' in view ? view.endpoint : ''))).toEqual([
      '/api/${n.kebab}/status',
    ]);
  });

  it('refuses bad options at start-up, naming each one', () => {
    let error: unknown;
    try {
      createApp({
        name: '${n.kebab}-test',
        logger: { level: 'silent' },
        plugins: [create${n.pascal}Plugin({ greeting: '', maxNameLength: 0 })],
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.name).sort()).toEqual([
      'plugins.${n.kebab}.greeting',
      'plugins.${n.kebab}.maxNameLength',
    ]);
  });
});
`;
}
