import type { IncomingMessage } from 'node:http';

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * The token of `Authorization: Bearer <token>` (scheme in any case), or undefined. Only that
 * header counts: a token in the URL ends up in logs, histories and Referer headers (RFC 6750 §2.3).
 * @example const token = bearerOf(req); if (token) user = await verifier.verify(token);
 */
export function bearerOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1];
}
