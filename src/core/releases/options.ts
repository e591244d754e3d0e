import { z } from 'zod';

const MIB = 1024 * 1024;

/** Limits of release uploads, shared by the plugins that take them (traffic, static). */
export const releaseLimitsShape = {
  /** Largest archive a release upload may send, in bytes; past it the answer is 413. Default 256 MiB. */
  maxBytes: z
    .number()
    .int()
    .min(1)
    .default(256 * MIB),
  /** Most bytes a release may hold once unpacked. Default 1 GiB. */
  maxUnpackedBytes: z
    .number()
    .int()
    .min(1)
    .default(1024 * MIB),
  /** Most entries (files, folders, links) a release may hold. Default 100 000. */
  maxEntries: z.number().int().min(1).default(100_000),
  /** Uploaded releases kept; older ones are removed unless running or a rollback target. Default 5. */
  keep: z.number().int().min(1).default(5),
  /**
   * Where uploads are kept. `auto` (default): in the database plugin's database when it is a
   * server (PostgreSQL, MySQL), so every gateway on it serves and runs them, each materialising
   * a release onto its own disk on first need; otherwise on this gateway's disk. `disk` keeps
   * them on this gateway's disk even then; `database` requires a PostgreSQL or MySQL database.
   */
  store: z.enum(['auto', 'disk', 'database']).default('auto'),
};

export interface ReleaseLimits {
  maxBytes: number;
  maxUnpackedBytes: number;
  maxEntries: number;
  keep: number;
  store?: 'auto' | 'disk' | 'database';
}
