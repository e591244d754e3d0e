import { z } from 'zod';

/**
 * A release version travels as a Docker image tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`), a
 * Kubernetes label value (at most 63 characters, alphanumeric at both ends, `-_.` inside), an
 * environment value and a path segment (`releases/{version}`). Only what all of them carry is
 * accepted: letters and digits at both ends, `.` `_` `-` inside, at most 63 characters. `+`
 * (semver build metadata) is refused: neither a tag nor a label may hold it.
 *
 * The escaped `-` keeps the pattern valid as an HTML input pattern (the `v` flag) in the deploy form.
 */
// eslint-disable-next-line no-useless-escape -- required by the `v` flag browsers compile input patterns with
export const VERSION_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._\-]{0,61}[A-Za-z0-9])?$/;

export const VERSION_RULE =
  'a version like "v2" or "1.4.0-rc.1": at most 63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit (what image tags and Kubernetes labels carry; no "+")';

export const versionSchema = z.string().regex(VERSION_PATTERN, VERSION_RULE);
