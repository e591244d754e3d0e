import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ReleaseError } from './error.js';

/** The header carrying the archive's SHA-256, in hex: the gateway stores nothing that differs. */
export const CHECKSUM_HEADER = 'x-release-sha256';

/** What an archive upload may be sent as: gzipped (or plain) tar, or bytes. */
const ARCHIVE_TYPES = /^application\/(?:gzip|x-gzip|x-tar|octet-stream)\s*(?:;|$)/i;
const SHA256 = /^[0-9a-f]{64}$/i;

export interface ReceivedArchive {
  /** A private temporary file holding the upload; the caller removes it. */
  file: string;
  size: number;
  sha256: string;
}

const mib = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;

function tooLarge(maxBytes: number): ReleaseError {
  return new ReleaseError(
    'too-large',
    `The archive is larger than the ${maxBytes} bytes (${mib(maxBytes)}) a release may be; raise releases.maxBytes to take it.`,
    { maxBytes },
  );
}

/** Counts and hashes what passes, and fails the stream once it passes `maxBytes`. */
class Meter extends Transform {
  size = 0;
  readonly hash = createHash('sha256');

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: string, done: (error?: Error) => void): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return done(tooLarge(this.maxBytes));
    this.hash.update(chunk);
    this.push(chunk);
    done();
  }
}

/**
 * Streams a release archive from the request into a temporary file under `directory`, checking
 * before a byte is read that it says its type, carries a checksum and does not announce more than
 * `maxBytes`; while reading, that it stays within `maxBytes`; and at the end, that it matches the
 * checksum. On any refusal the partial file is gone.
 */
export async function receiveArchive(
  req: IncomingMessage,
  options: { directory: string; maxBytes: number },
): Promise<ReceivedArchive> {
  const type = req.headers['content-type'];
  if (!type || !ARCHIVE_TYPES.test(type))
    throw new ReleaseError(
      'media-type',
      `Send the release as a tarball (Content-Type: application/gzip, or application/octet-stream); got ${type ? JSON.stringify(type.slice(0, 100)) : 'none'}.`,
    );
  const expected = req.headers[CHECKSUM_HEADER];
  if (typeof expected !== 'string' || !SHA256.test(expected))
    throw new ReleaseError(
      'checksum-required',
      `Send the archive's SHA-256 in hex in the ${CHECKSUM_HEADER} header: the gateway keeps no release it cannot verify.`,
    );
  const announced = Number(req.headers['content-length']);
  if (Number.isFinite(announced) && announced > options.maxBytes) throw tooLarge(options.maxBytes);

  await mkdir(options.directory, { recursive: true, mode: 0o700 });
  const file = path.join(options.directory, `${randomUUID()}.upload`);
  const meter = new Meter(options.maxBytes);
  try {
    await pipeline(req, meter, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (error) {
    await rm(file, { force: true });
    if (error instanceof ReleaseError) throw error;
    throw new ReleaseError('invalid-archive', 'The upload ended before the whole archive arrived.');
  }
  const sha256 = meter.hash.digest('hex');
  if (!timingSafeEqual(Buffer.from(sha256), Buffer.from(expected.toLowerCase()))) {
    await rm(file, { force: true });
    throw new ReleaseError(
      'checksum-mismatch',
      `The archive's SHA-256 is ${sha256}, not the ${expected.toLowerCase()} the ${CHECKSUM_HEADER} header announced: it was changed or cut on the way. Nothing was stored.`,
      { expected: expected.toLowerCase(), received: sha256 },
    );
  }
  return { file, size: meter.size, sha256 };
}
