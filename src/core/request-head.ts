import type { IncomingMessage } from 'node:http';

/** Why a request's head is refused (400) before any handler sees it. */
export interface HeadProblem {
  code: 'REQUEST_DUPLICATE_HOST' | 'REQUEST_HOST_REQUIRED' | 'REQUEST_AMBIGUOUS_FRAMING';
  detail: string;
}

const DECIMAL = /^\d{1,15}$/;

/** `name` is `host` in any case, without allocating a lower-case copy (every request has one). */
function isHost(name: string): boolean {
  return (
    (name.charCodeAt(0) | 0x20) === 104 &&
    (name.charCodeAt(1) | 0x20) === 111 &&
    (name.charCodeAt(2) | 0x20) === 115 &&
    (name.charCodeAt(3) | 0x20) === 116
  );
}

/**
 * Refuses heads that two servers could read differently, and HTTP/1.1 heads without a Host. Node keeps only the first of two Host
 * headers in `req.headers`, while a proxy or an upstream may pick the other (RFC 9112 section
 * 3.2: answer 400); and framing a proxy could read differently from its upstream is request
 * smuggling (Node's parser rejects most of it; this is the second line). One pass over
 * `rawHeaders`, where names are compared only when their length matches, so it costs a
 * request a few comparisons per header.
 * @returns the problem, or undefined when the head is unambiguous
 */
export function requestHeadProblem(req: IncomingMessage): HeadProblem | undefined {
  const raw = req.rawHeaders;
  let hosts = 0;
  let lengths = 0;
  let encodings = 0;
  let encoding = '';
  let badLength = false;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index];
    switch (name.length) {
      case 4:
        if (isHost(name)) hosts++;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          lengths++;
          if (!DECIMAL.test(raw[index + 1])) badLength = true;
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') {
          encodings++;
          encoding = raw[index + 1];
        }
        break;
    }
  }
  if (hosts > 1)
    return { code: 'REQUEST_DUPLICATE_HOST', detail: 'The request has more than one Host header.' };
  // RFC 9112 section 3.2: an HTTP/1.1 request without Host gets a 400 (Node's own check is off,
  // so that this answer is problem+json too).
  if (hosts === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1)
    return {
      code: 'REQUEST_HOST_REQUIRED',
      detail: 'An HTTP/1.1 request must have a Host header.',
    };
  const framing = framingProblem(lengths, badLength, encodings, encoding);
  return framing === undefined
    ? undefined
    : {
        code: 'REQUEST_AMBIGUOUS_FRAMING',
        detail: `The request framing is ambiguous: ${framing}.`,
      };
}

function framingProblem(
  lengths: number,
  badLength: boolean,
  encodings: number,
  encoding: string,
): string | undefined {
  if (badLength) return 'Content-Length is not a plain decimal number';
  if (lengths > 1) return 'more than one Content-Length header';
  if (encodings > 1) return 'more than one Transfer-Encoding header';
  if (lengths === 1 && encodings === 1) return 'both Content-Length and Transfer-Encoding';
  if (encodings === 1 && encoding.toLowerCase() !== 'chunked')
    return 'a Transfer-Encoding other than exactly "chunked"';
  return undefined;
}
