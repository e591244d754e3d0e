import { HttpError } from '../../core/errors.js';
import type { RouteDefinition } from '../../core/plugin.js';
import { CHECKSUM_HEADER, releaseHttpError } from '../../core/releases/index.js';
import { TRAFFIC_RELEASE_CODES, type TrafficReleases } from './releases.js';
import { perService } from './routes.js';
import type { Traffic } from './traffic.js';
import { VERSION_PATTERN, VERSION_RULE } from './version.js';

/**
 * Uploads of releases that carry code, under `basePath`: `PUT /releases/:service/:version` (the
 * tarball as the body, its SHA-256 in `x-release-sha256`), for whoever may deploy the service
 * (`traffic:deploy:<service>`), and `GET /releases/:service` for whoever may read it.
 */
export function releaseRoutes(
  basePath: string,
  traffic: () => Traffic,
  releases: () => TrafficReleases | undefined,
): RouteDefinition[] {
  /** The named service's releases; 404 for an unknown service, 409 on a container orchestrator. */
  const releasesOf = (service: string): TrafficReleases => {
    traffic().service(service);
    const found = releases();
    if (!found)
      throw new HttpError(
        409,
        'TRAFFIC_RELEASES_UNSUPPORTED',
        'This gateway deploys container images: releases are uploaded for the process orchestrator only. Push an image tagged with the version instead.',
      );
    return found;
  };
  return [
    {
      method: 'put',
      path: `${basePath}/releases/:service/:version`,
      access: 'admin',
      permission: perService('deploy', 'params', traffic),
      description: `Stores a release's code (a .tar.gz, its SHA-256 in ${CHECKSUM_HEADER}) for deploy to run`,
      handler: async (req, res) => {
        const { service, version } = req.params as { service: string; version: string };
        if (!VERSION_PATTERN.test(version))
          throw new HttpError(400, 'TRAFFIC_INVALID_REQUEST', `version: expected ${VERSION_RULE}.`);
        try {
          const upload = await releasesOf(service).upload(req, service, version);
          res.status(upload.created ? 201 : 200).json(upload);
        } catch (error) {
          throw releaseHttpError(error, TRAFFIC_RELEASE_CODES, res);
        }
      },
    },
    {
      method: 'get',
      path: `${basePath}/releases/:service`,
      access: 'admin',
      permission: perService('read', 'params', traffic),
      description:
        "A service's uploaded releases, newest first: version, size, sha256, uploadedAt, and the slot running each",
      handler: async (req, res) => {
        const { service } = req.params as { service: string };
        const records = await releasesOf(service).list(service);
        const slots = traffic().service(service).slots;
        res.json({
          service,
          releases: records.map((record) => {
            const slot = slots.find(
              (entry) => entry.version === record.version && entry.state !== 'stopped',
            );
            return slot ? { ...record, slot: slot.id, state: slot.state } : record;
          }),
        });
      },
    },
  ];
}
