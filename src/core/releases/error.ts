import type { Response } from 'express';
import { HttpError } from '../errors.js';

/**
 * Why an uploaded release was refused. Each plugin that takes uploads answers each one with a
 * code of its own (`TRAFFIC_RELEASE_TOO_LARGE`, `STATIC_RELEASE_TOO_LARGE`), from one table.
 */
export type ReleaseProblem =
  | 'media-type'
  | 'checksum-required'
  | 'too-large'
  | 'checksum-mismatch'
  | 'invalid-archive'
  | 'unsafe-entry'
  | 'exists';

/** A refusal of an upload: what was wrong, in words the uploader can act on. */
export class ReleaseError extends Error {
  constructor(
    readonly problem: ReleaseProblem,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ReleaseError';
  }
}

/** A plugin's status and code for each problem. */
export type ReleaseCodes = Readonly<
  Record<ReleaseProblem, { readonly status: number; readonly code: string }>
>;

/**
 * The plugin's HttpError for a refused upload (any other error as it is). Any refusal before the
 * body was read whole closes the connection after the answer, so the rest of a body too big is
 * never read, let alone stored.
 */
export function releaseHttpError(error: unknown, codes: ReleaseCodes, res: Response): unknown {
  if (!res.req.complete) res.setHeader('connection', 'close');
  if (!(error instanceof ReleaseError)) return error;
  const { status, code } = codes[error.problem];
  return new HttpError(status, code, error.message, { details: error.details });
}

/** A stored archive that no longer reads back as it was uploaded: never unpacked. */
export class CorruptReleaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptReleaseError';
  }
}
