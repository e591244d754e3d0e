import { stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { RequestHandler } from 'express';
import { ConfigError, HttpError } from '../../core/errors.js';
import { PLUGIN_ORDER, type RouteDefinition, type ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import { staticOptionsSchema, type StaticConfig, type StaticPluginOptions } from './options.js';
import { chooseReleaseStore, releaseHttpError, sharedDatabase } from '../../core/releases/index.js';
import type { Database } from '../database/index.js';
import { looksLikeReleases, RELEASE_NAME, ReleaseSet, type StaticRelease } from './releases.js';
import type { SharedReleaseSet } from './shared-set.js';
import { createStaticHandler } from './serve.js';
import { createSite, type Site } from './site.js';
import { STATIC_RELEASE_CODES, type StaticUpload, type StaticUploads } from './uploads.js';

export { DEFAULT_HASH_PATTERN, DEFAULT_SPA_EXCLUDE } from './options.js';
export type { StaticPluginOptions } from './options.js';
export type { StaticRelease } from './releases.js';
export type { StaticUpload } from './uploads.js';
export { STATIC_ERRORS } from './errors.js';

/** Frontend releases, switched at run time (`ctx.get('static')`). */
export interface StaticController {
  /** True when `root` is a releases folder. */
  readonly releases: boolean;
  /** The active release, if any. */
  active(): string | undefined;
  list(): Promise<StaticRelease[]>;
  /**
   * Makes `version` the active release: new requests are answered from it, requests in flight
   * finish on the previous one, and the choice survives a restart. Rejects with an HttpError
   * (404 unknown release, 409 no index or not a releases folder).
   */
  activate(version: string): Promise<{ active: string; previous?: string }>;
  /**
   * Makes the release active before the current one active again (409 STATIC_NO_PREVIOUS when
   * there is none); the current one becomes the rollback target.
   */
  rollback(): Promise<{ active: string; previous?: string }>;
  /**
   * Stores an uploaded release (a tarball streamed from the request, its SHA-256 in
   * `x-release-sha256`) as `version`, without activating it; older uploads past `uploads.keep`
   * are removed, never the active release or the rollback target.
   */
  upload(req: IncomingMessage, version: string): Promise<StaticUpload>;
}

declare module '../../core/services.js' {
  interface Services {
    static: StaticController;
  }
  interface AppEvents {
    'static:release-activated': { version: string; previous?: string };
  }
}

/** The root stays in the log (start-up names it): an answer never names a path of this machine. */
function releasesDisabled(): HttpError {
  return new HttpError(
    409,
    'STATIC_RELEASES_DISABLED',
    'The static root is served as one folder, not as releases/<version>/; set releases: true to use releases.',
  );
}

/**
 * Serves a frontend: an SPA fallback to index.html (GET/HEAD, Accept: text/html, no extension),
 * fingerprinted assets cached as immutable, index.html revalidated, precompressed `.br`/`.gz`
 * chosen by Accept-Encoding, ETag/Last-Modified/Range, dotfiles and traversal refused.
 * `root` may hold `<version>/` folders, one active at a time and switched without a restart;
 * releases are uploaded (`PUT /api/static/releases/:version`, `static:release`), activated
 * (`static:activate`) and rolled back (`POST /api/static/releases/rollback`) through its API.
 * With the database plugin on PostgreSQL or MySQL, uploads and the active release live in the
 * database (`uploads.store`), so several gateways serve the same frontend: each materialises a
 * release under `<root>/.shared/` and follows an activation or rollback made through any of them
 * within a second.
 * Its routes are mounted after every other plugin's, so it never shadows them.
 * @example
 * createStaticPlugin({ root: './releases', spa: true })
 * await ctx.get('static').activate('v2') // and back: activate('v1')
 */
export function createStaticPlugin(options: StaticPluginOptions): ServerPlugin<StaticConfig> {
  const { name = 'static', ...settings } = options;
  let controller: StaticController | undefined;
  let currentSite: () => Site | undefined = () => undefined;
  let ownsService = false;
  let stopFollowing: (() => Promise<void>) | undefined;
  return {
    name,
    version: CORE_VERSION,
    // Last: the catch-all route must come after every other plugin's routes.
    order: PLUGIN_ORDER.last,
    config: { schema: staticOptionsSchema, options: settings },
    // Uploaded releases live in the database when it is shared by several gateways.
    optionalDependencies: ['database'],
    async onInit(ctx) {
      const config = ctx.config;
      const root = path.resolve(config.root);
      const isFolder = (await stat(root).catch(() => undefined))?.isDirectory() === true;
      if (!isFolder) {
        // A start-up problem names the option, as every configuration problem does.
        throw new ConfigError([
          {
            name: `plugins.${name}.root`,
            expected: 'an existing folder (create it, or point root at one)',
            received: JSON.stringify(root),
          },
        ]);
      }
      const database = ctx.tryGet('database');
      const releases =
        config.releases === 'auto'
          ? (await looksLikeReleases(root, config.index)) ||
            (await sharedUploadsExist(config, database, name, root))
          : config.releases;
      if (releases) {
        const store = await chooseReleaseStore({
          limits: config.uploads,
          database,
          scope: `static:${name}`,
          root,
          option: `plugins.${name}.uploads.store`,
        });
        const createReleaseSite = (dir: string, version: string) =>
          createSite(dir, version, config);
        const onActivated = (version: string, previous: string | undefined) =>
          ctx.events.emit('static:release-activated', { version, previous });
        let set: ReleaseSet | SharedReleaseSet;
        let inUse: () => Promise<(string | undefined)[]>;
        if (store.shared) {
          const [{ SharedActive }, { SharedReleaseSet }] = await Promise.all([
            import('./active.js'),
            import('./shared-set.js'),
          ]);
          const shared = new SharedActive(database!, `static:${name}`, ctx.logger);
          const following = new SharedReleaseSet(
            root,
            store,
            shared,
            config.index,
            createReleaseSite,
            ctx.logger,
            onActivated,
            config.uploads.pollInterval,
          );
          set = following;
          stopFollowing = () => following.stop();
          inUse = async () => {
            const state = await shared.read();
            return [state.active, state.previous, following.current()?.version];
          };
        } else {
          const local = new ReleaseSet(
            root,
            config.index,
            createReleaseSite,
            ctx.logger,
            onActivated,
          );
          set = local;
          inUse = async () => [local.current()?.version, local.rollbackTarget()];
        }
        await set.start(config.release);
        const { StaticUploads } = await import('./uploads.js');
        const uploads: StaticUploads = new StaticUploads(store, config.uploads, inUse, ctx.logger);
        currentSite = () => set.current();
        controller = {
          releases: true,
          active: () => set.current()?.version,
          async list() {
            const [releases, records] = await Promise.all([set.list(), uploads.records()]);
            return releases.map((release) => {
              const record = records.get(release.version);
              return record
                ? {
                    ...release,
                    size: record.size,
                    sha256: record.sha256,
                    uploadedAt: record.uploadedAt,
                  }
                : release;
            });
          },
          activate: (version) => set.activate(version),
          rollback: () => set.rollback(),
          upload: (req, version) => uploads.upload(req, version),
        };
      } else {
        const site = createSite(root, undefined, config);
        currentSite = () => site;
        controller = {
          releases: false,
          active: () => undefined,
          list: async () => [],
          activate: async () => {
            throw releasesDisabled();
          },
          rollback: async () => {
            throw releasesDisabled();
          },
          upload: async () => {
            throw releasesDisabled();
          },
        };
      }
      // One frontend per app answers `ctx.get('static')` and the releases API: the plugin named
      // `static` (a gateway's frontend) even beside a static route's, else the first to start.
      ownsService =
        ctx.name === 'static' ||
        (!ctx.app.plugins().some((plugin) => plugin.name === 'static') && !ctx.tryGet('static'));
      if (ownsService) ctx.provide('static', controller);
      ctx.logger.info(
        { root, releases, spa: config.spa, mountPath: config.mountPath },
        'static files ready',
      );
    },
    routes: (ctx) => {
      const config = ctx.config;
      const routes: RouteDefinition[] = [];
      if (config.adminRoutes && ownsService) {
        const list: RequestHandler = async (_req, res) => {
          res.json({
            enabled: controller!.releases,
            active: controller!.active() ?? null,
            releases: await controller!.list(),
          });
        };
        const activate: RequestHandler = async (req, res) => {
          res.json(await controller!.activate(String(req.params.version)));
        };
        const upload: RequestHandler = async (req, res) => {
          const version = String(req.params.version);
          try {
            if (!RELEASE_NAME.test(version))
              throw new HttpError(
                400,
                'STATIC_RELEASE_INVALID',
                `"${version.slice(0, 64)}" is not a release name (letters, digits, ".", "_", "-").`,
              );
            const stored = await controller!.upload(req, version);
            res.status(stored.created ? 201 : 200).json(stored);
          } catch (error) {
            throw releaseHttpError(error, STATIC_RELEASE_CODES, res);
          }
        };
        routes.push(
          {
            method: 'get',
            path: '/api/static/releases',
            access: 'admin',
            permission: 'static:read',
            handler: list,
            description: 'Frontend releases and the active one',
          },
          {
            method: 'put',
            path: '/api/static/releases/:version',
            access: 'admin',
            permission: 'static:release',
            handler: upload,
            description:
              'Store a frontend release (a .tar.gz, its SHA-256 in x-release-sha256) without activating it',
          },
          {
            method: 'post',
            path: '/api/static/releases/:version/activate',
            access: 'admin',
            permission: 'static:activate',
            handler: activate,
            description: 'Switch the active frontend release',
          },
          {
            method: 'post',
            path: '/api/static/releases/rollback',
            access: 'admin',
            // A rollback is an activation of the release active before.
            permission: 'static:activate',
            handler: async (_req, res) => void res.json(await controller!.rollback()),
            description: 'Switch back to the frontend release active before',
          },
        );
      }
      const handler = createStaticHandler(config, () => currentSite());
      routes.push({
        method: 'get',
        path: config.mountPath === '/' ? '/{*path}' : `${config.mountPath}{/*path}`,
        handler,
        description: config.spa ? 'Static files with SPA fallback' : 'Static files',
        fallback: true,
      });
      return routes;
    },
    async onShutdown() {
      await stopFollowing?.();
    },
  };
}

/** `releases: 'auto'` on a gateway whose folder holds no site yet: the shared database has uploads. */
async function sharedUploadsExist(
  config: StaticConfig,
  database: Database | undefined,
  name: string,
  root: string,
): Promise<boolean> {
  if (config.uploads.store === 'disk' || !sharedDatabase(database)) return false;
  // A folder with its own index is a site: no table is created just to look.
  if (config.index && (await stat(path.join(root, config.index)).catch(() => undefined))?.isFile())
    return false;
  const store = await chooseReleaseStore({
    limits: config.uploads,
    database,
    scope: `static:${name}`,
    root,
    option: `plugins.${name}.uploads.store`,
  });
  return (await store.list()).length > 0;
}
