#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { CORE_VERSION } from '../core/version.js';
import type { ServiceView } from '../plugins/traffic/index.js';
import { CliError, TrafficClient } from './client.js';
import { formatHistory, formatService, progressLine, summary, useColour } from './format.js';
import { generatePlugin } from './generate.js';
import { packRelease } from './pack.js';
import { FRONTEND, formatReleases, storedLine } from './release-format.js';
import { askMissing, newProduct } from './new.js';

interface GlobalOptions {
  url: string;
  json?: boolean;
  token?: string;
}

const positiveInteger = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError('a whole number of at least 1');
  return parsed;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The client with the caller's credential: a token (`--token`, else QWICKAPPS_TOKEN: an API key
 * or the gateway's MANAGEMENT_TOKEN) wins over ADMIN_USER / ADMIN_PASSWORD. An empty variable
 * counts as unset, as CI systems leave unset secrets empty.
 */
function client(options: GlobalOptions): TrafficClient {
  const token = options.token || process.env.QWICKAPPS_TOKEN || undefined;
  return new TrafficClient({
    url: options.url,
    ...(token === undefined
      ? { user: process.env.ADMIN_USER, password: process.env.ADMIN_PASSWORD }
      : { token }),
  });
}

/** Prints the JSON answer with --json, the human text otherwise. */
function print(options: GlobalOptions, value: unknown, text: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

/**
 * Polls the deployed slot until it is promotable or active (success), failed (exit 1) or the
 * timeout passes (exit 1), printing a line whenever its progress changes.
 */
async function waitForHealth(
  api: TrafficClient,
  service: string,
  version: string,
  slotId: string,
  timeout: number,
  interval: number,
  report: (line: string) => void,
): Promise<ServiceView> {
  const deadline = Date.now() + timeout;
  let last = '';
  for (;;) {
    const view = await api.deployProgress(service);
    const slot = view.slots.find((entry) => entry.id === slotId);
    if (!slot || slot.version !== version)
      throw new CliError(`${slotId} no longer holds ${version}: another deploy replaced it.`, 1);
    const line = progressLine(slot);
    if (line !== last) report((last = line));
    if (slot.state === 'active' || slot.state === 'dev') {
      report(`${version} is active in ${slotId}.`);
      return view;
    }
    // A first release, or one under autoPromote, is promoted by the gateway itself: wait for it.
    const promotesItself = view.autoPromote || !view.active;
    if (slot.state === 'candidate' && slot.eligible && !promotesItself) {
      report(`${version} is healthy in ${slotId}; promote it with: qwickapps promote ${service}`);
      return view;
    }
    if (slot.state === 'failed' || slot.state === 'stopped') {
      const reason =
        view.lastTransition?.slot === slotId ? view.lastTransition.reason : slot.message;
      throw new CliError(`${version} ${slot.state} in ${slotId}${reason ? `: ${reason}` : ''}.`, 1);
    }
    if (Date.now() >= deadline)
      throw new CliError(
        `${version} was not healthy within ${timeout / 1000} s (${line}); it keeps running: abort it with qwickapps abort ${service}.`,
        1,
      );
    await sleep(interval);
  }
}

export function buildProgram(): Command {
  const program = new Command('qwickapps')
    .description(
      'Deploy, promote and roll back services behind a qwickapps gateway; create products and plugins.',
    )
    .version(CORE_VERSION)
    .option(
      '--url <url>',
      'gateway URL (env QWICKAPPS_URL)',
      process.env.QWICKAPPS_URL ?? 'http://localhost:3101',
    )
    .option('--json', 'print JSON instead of text')
    // No default shown from the environment: help never prints a token.
    .option('--token <token>', 'API key or MANAGEMENT_TOKEN, sent as Bearer (env QWICKAPPS_TOKEN)')
    .showHelpAfterError()
    .addHelpText(
      'after',
      [
        '',
        "Credentials: QWICKAPPS_TOKEN (or --token), an API key (qwk_...) or the gateway's",
        'MANAGEMENT_TOKEN, sent as Authorization: Bearer; it wins over ADMIN_USER (default',
        '"admin") and ADMIN_PASSWORD. Prefer the variable: arguments show in process lists.',
        'A key only does what its scopes allow: traffic:deploy:api releases and deploys the',
        'service api and follows the deploy, nothing else; static:release and static:activate',
        `upload and switch the ${FRONTEND}.`,
      ].join('\n'),
    );
  const globals = () => program.opts<GlobalOptions>();

  program
    .command('status')
    .description('show every service (or one) with its slots')
    .argument('[service]', 'a service name')
    .action(async (service: string | undefined) => {
      const answer = await client(globals()).status(service);
      print(
        globals(),
        answer,
        answer.services.map((view) => formatService(view, useColour(process.stdout))).join('\n\n'),
      );
    });

  program
    .command('deploy')
    .description('start <version> of <service> in a free slot and wait until it is healthy')
    .argument('<service>')
    .argument('<version>')
    .option('--force', 'reuse the rollback slot if no other slot is free')
    .option('--no-wait', 'return once the release is starting')
    .option('--timeout <ms>', 'how long to wait for health', positiveInteger, 120_000)
    .option('--interval <ms>', 'how often to poll', positiveInteger, 500)
    .action(
      async (
        service: string,
        version: string,
        options: { force?: boolean; wait: boolean; timeout: number; interval: number },
      ) => {
        const api = client(globals());
        const started = await api.deploy(service, version, options.force === true);
        const slot = started.slots.find(
          (entry) => entry.state === 'starting' && entry.version === version,
        );
        // Progress goes to stderr with --json, so stdout stays one JSON document.
        const report = (line: string) =>
          (globals().json ? process.stderr : process.stdout).write(`${line}\n`);
        report(`Deploying ${service} ${version} to ${slot?.id ?? 'a slot'}...`);
        if (!options.wait || !slot) {
          if (globals().json) print(globals(), started, '');
          return;
        }
        const view = await waitForHealth(
          api,
          service,
          version,
          slot.id,
          options.timeout,
          options.interval,
          report,
        );
        if (globals().json) print(globals(), view, '');
      },
    );

  program
    .command('release')
    .description(
      `store the code of <version> of <service> on the gateway (a folder, packed, or a .tgz); "${FRONTEND}" is the gateway's frontend`,
    )
    .argument('<service>', `a service name, or ${FRONTEND}`)
    .argument('<version>')
    .argument('<path>', 'the build: a folder (packed as a .tar.gz) or a .tgz / .tar.gz')
    .action(async (service: string, version: string, source: string) => {
      const packed = await packRelease(source);
      try {
        const api = client(globals());
        const stored =
          service === FRONTEND
            ? await api.uploadFrontend(version, packed)
            : await api.uploadRelease(service, version, packed);
        print(globals(), stored, storedLine(service, stored));
      } finally {
        await packed.cleanup();
      }
    });

  program
    .command('releases')
    .description(`the releases stored for <service> (or ${FRONTEND}), newest first`)
    .argument('<service>', `a service name, or ${FRONTEND}`)
    .action(async (service: string) => {
      const api = client(globals());
      const answer =
        service === FRONTEND ? await api.frontendReleases() : await api.releases(service);
      print(globals(), answer, formatReleases(answer.releases));
    });

  program
    .command('activate')
    .description(`serve <version> of the ${FRONTEND} (services are deployed and promoted instead)`)
    .argument('<target>', FRONTEND)
    .argument('<version>')
    .action(async (target: string, version: string) => {
      if (target !== FRONTEND)
        throw new CliError(
          `activate switches the ${FRONTEND}; a service is deployed, then promoted: qwickapps deploy ${target} ${version}.`,
          1,
        );
      const answer = await client(globals()).activateFrontend(version);
      print(
        globals(),
        answer,
        `${FRONTEND}: ${answer.active} is active${answer.previous ? `; rollback goes back to ${answer.previous}` : ''}`,
      );
    });

  for (const [name, description] of [
    [
      'promote',
      'switch traffic to the healthy candidate (the active release stays warm for rollback)',
    ],
    [
      'rollback',
      `switch traffic back to the previous release while it is warm (${FRONTEND}: the release active before)`,
    ],
    ['abort', 'stop a starting or candidate release'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<service>')
      .action(async (service: string) => {
        if (name === 'rollback' && service === FRONTEND) {
          const answer = await client(globals()).rollbackFrontend();
          print(
            globals(),
            answer,
            `${FRONTEND}: rolled back to ${answer.active} (from ${answer.previous})`,
          );
          return;
        }
        const view = await client(globals()).command(name, service);
        print(globals(), view, summary(view));
      });
  }

  program
    .command('history')
    .description('recorded transitions, newest first')
    .argument('[service]')
    .option('--limit <n>', 'how many', positiveInteger, 20)
    .action(async (service: string | undefined, options: { limit: number }) => {
      const answer = await client(globals()).history(service, options.limit);
      print(globals(), answer, formatHistory(answer.transitions));
    });

  const generate = program
    .command('generate')
    .description("write new code in the framework's shape");
  generate
    .command('plugin')
    .description(
      'write a plugin folder (factory, options, routes, panel page, error codes, a passing test)',
    )
    .argument('<name>', 'kebab-case plugin name, like inventory-sync')
    .option('--dir <path>', 'folder to write it in (default src/plugins, or . with --package)')
    .option('--package', 'a standalone npm package with @qwickapps/server as a peer dependency')
    .option('--force', 'overwrite files in a folder that is not empty')
    .action(async (name: string, options: { dir?: string; package?: boolean; force?: boolean }) => {
      const generated = await generatePlugin({ name, ...options });
      const shown = path.relative(process.cwd(), generated.directory) || '.';
      const lines = generated.files.map((file) => `  ${path.join(shown, file)}`);
      const next = options.package
        ? `Next: cd ${shown} && npm install && npm test`
        : [
            `Next: register ${generated.factory}() in your app's plugins, then run npx vitest run ${shown}`,
            `The plugin imports zod: npm install zod@${generated.zod} if your product does not list it.`,
          ].join('\n');
      print(globals(), generated, [`Wrote ${name} in ${shown}:`, ...lines, '', next].join('\n'));
    });

  program
    .command('new')
    .description('write a new product from a template, and install it')
    .argument('[name]', 'kebab-case product name, like shop (asked for in a terminal)')
    .option('--template <template>', 'product (gateway, service, frontend), service or minimal')
    .option('--dir <path>', 'folder to write it in (default ./<name>)')
    .option('--auth <provider>', 'none, auth0, supabase or dev (product: default dev)')
    .option('--database <database>', 'pglite (embedded), postgres, mysql or sqlite')
    .option('--force', 'write into a folder that is not empty')
    .option('--no-install', 'skip npm install')
    .action(
      async (
        name: string | undefined,
        options: {
          template?: string;
          dir?: string;
          auth?: string;
          database?: string;
          force?: boolean;
          install: boolean;
        },
      ) => {
        const answered = await askMissing({ name, ...options });
        // Progress goes to stderr with --json, so stdout stays one JSON document.
        const report = (line: string) =>
          (globals().json ? process.stderr : process.stdout).write(`${line}\n`);
        const created = await newProduct({ ...answered, report });
        const shown = path.relative(process.cwd(), created.directory) || '.';
        const next = created.installed
          ? `Next: cd ${shown} && npm start   (npm test runs its tests)`
          : `Next: cd ${shown} && npm install && npm start   (npm test runs its tests)`;
        print(
          globals(),
          created,
          `\nCreated ${answered.name} (${created.template}) in ${shown}.\n${next}`,
        );
      },
    );

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    if (program.opts<GlobalOptions>().json)
      process.stdout.write(
        `${JSON.stringify({ error: { message: error.message, ...error.problem } }, null, 2)}\n`,
      );
    process.stderr.write(`qwickapps: ${error.message}\n`);
    return error.exitCode;
  }
}

// Run when executed (directly or through npm's bin link), not when imported.
if (
  process.argv[1] &&
  realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
) {
  main(process.argv).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`qwickapps: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
