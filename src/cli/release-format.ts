import type { FrontendRelease, StoredRelease } from './client.js';

/** The name the CLI gives the gateway's own frontend (the static plugin's releases). */
export const FRONTEND = 'frontend';

const size = (bytes: number) =>
  bytes < 1024 * 1024
    ? `${Math.ceil(bytes / 1024)} KiB`
    : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** What `qwickapps release` says once the gateway stored (or already had) the release. */
export function storedLine(service: string, stored: StoredRelease): string {
  const what = `${service} ${stored.version} (${size(stored.size)}, sha256 ${stored.sha256.slice(0, 12)})`;
  const next =
    service === FRONTEND
      ? `serve it with: qwickapps activate ${FRONTEND} ${stored.version}`
      : `run it with: qwickapps deploy ${service} ${stored.version}`;
  const lines = [
    stored.created
      ? `Stored ${what}; ${next}`
      : `${what} was already stored with the same content; ${next}`,
  ];
  if (stored.pruned.length > 0) lines.push(`Removed older releases: ${stored.pruned.join(', ')}`);
  return lines.join('\n');
}

/** One line a release: version, size, checksum, upload time, and whether (or where) it runs. */
export function formatReleases(
  releases: readonly (Partial<FrontendRelease> & {
    version: string;
    slot?: string;
    state?: string;
  })[],
): string {
  if (releases.length === 0) return 'No releases stored.';
  return releases
    .map((release) =>
      [
        release.version.padEnd(16),
        (release.size === undefined ? '-' : size(release.size)).padStart(10),
        (release.sha256?.slice(0, 12) ?? '(not uploaded)').padEnd(14),
        release.uploadedAt ?? '',
        release.state
          ? `${release.state} in ${release.slot}`
          : release.active
            ? 'active'
            : release.previous
              ? 'rollback target'
              : '',
      ]
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
