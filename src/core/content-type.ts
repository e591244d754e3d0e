/**
 * Media types a browser never renders as a document that could run script or be framed: JSON
 * and its `+json` family, plain text, CSV, event streams, binary data, images other than SVG,
 * audio, video and fonts. Everything else (HTML, XML and its `+xml` family, SVG, CSS, scripts,
 * PDF) counts as a document, and so does an answer without a type, which a browser may sniff.
 */
const DATA_TYPE =
  /^\s*(?:application\/(?:json|[\w.+-]*\+json|x-ndjson|octet-stream|grpc(?:[\w.+-]*)|x-protobuf|protobuf|msgpack|cbor|zip|gzip)|text\/(?:plain|csv|event-stream)|image\/(?!svg)[\w.+-]+|audio\/[\w.+-]+|video\/[\w.+-]+|font\/[\w.+-]+)\s*(?:;|$)/i;

/**
 * Whether an answer with this `Content-Type` is data rather than a document. Data answers need
 * only the security headers that protect data (`nosniff`, the resource policy, a CSP that lets
 * nothing run), not the full set a document needs; `X-Content-Type-Options: nosniff` keeps the
 * browser to the declared type, so the distinction holds.
 */
export function isDataContentType(contentType: string | readonly string[] | undefined): boolean {
  return typeof contentType === 'string' && DATA_TYPE.test(contentType);
}
