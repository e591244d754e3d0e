/**
 * CapRover hands back a Docker service's log exactly as Docker streams it: frames of an 8-byte
 * header (stream 0 stdin, 1 stdout, 2 stderr, three zero bytes, a big-endian payload length) and
 * the payload, each line prefixed with its timestamp (CapRover asks Docker for timestamps). Asked
 * with `encoding=hex` it arrives byte for byte; the default (`ascii`) would mangle the lengths.
 */

/** Stream 3 is not in Docker's documentation but appears when a log stream breaks. */
const MAX_STREAM = 3;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) /;

/** The output lines of a framed Docker log (hex-encoded), oldest first, without timestamps. */
export function captainLogLines(hex: string): string[] {
  const raw = Buffer.from(hex, 'hex');
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length && isHeader(raw, offset)) {
    const size = raw.readUInt32BE(offset + 4);
    payloads.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  // Not framed (a TTY app) or cut short: keep what is left as plain text.
  if (offset < raw.length) payloads.push(raw.subarray(offset));
  return Buffer.concat(payloads)
    .toString('utf8')
    .split('\n')
    .map((line) => line.replace(/\r$/, '').replace(TIMESTAMP, ''))
    .filter((line) => line !== '');
}

function isHeader(raw: Buffer, offset: number): boolean {
  return (
    raw[offset] <= MAX_STREAM &&
    raw[offset + 1] === 0 &&
    raw[offset + 2] === 0 &&
    raw[offset + 3] === 0
  );
}
