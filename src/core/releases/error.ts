import type { Request, Response } from 'express';
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

/** How much of a refused upload's rest is read and dropped, at most, before the connection closes. */
const LINGER_BYTES = 8 * 1024 * 1024;
const LINGER_MS = 2_000;

/**
 * The plugin's HttpError for a refused upload (any other error as it is). A refusal before the
 * body was read whole is answered at once, and the rest of the body is read and dropped (never
 * stored) for at most LINGER_BYTES or LINGER_MS, then the connection is closed. Closing at once
 * would reset it while the client is still sending, and a reset can discard the answer the
 * client has not read yet: the uploader would see a broken connection instead of the 413.
 */
export function releaseHttpError(error: unknown, codes: ReleaseCodes, res: Response): unknown {
  if (!res.req.complete) lingerThenClose(res.req);
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

function lingerThenClose(req: Request): void {
  if (req.destroyed) return;
  let dropped = 0;
  const close = () => req.socket.destroy();
  const timer = setTimeout(close, LINGER_MS).unref();
  req.once('end', () => clearTimeout(timer));
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > LINGER_BYTES) close();
  });
  req.resume();
}
