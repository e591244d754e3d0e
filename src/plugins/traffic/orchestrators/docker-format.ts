/** The Docker Engine API's wire formats the orchestrator reads and writes. */

/** Splits Docker's multiplexed log stream (8-byte frame headers) into text lines. */
export function demultiplex(raw: Buffer): string[] {
  let text = '';
  let offset = 0;
  const framed = raw.length >= 8 && raw[0] <= 2 && raw[1] === 0 && raw[2] === 0 && raw[3] === 0;
  if (!framed) text = raw.toString('utf8');
  while (framed && offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    text += raw.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
  }
  return text.split('\n').filter((line) => line !== '');
}

/**
 * What `POST /images/create` takes for an image reference, as Docker's client sends it: the
 * repository without tag or digest, and the digest (which wins over a tag) or the tag (default
 * `latest`). A colon before the last slash is a registry port, not a tag.
 */
export function splitImage(image: string): { fromImage: string; tag: string } {
  const at = image.indexOf('@');
  const named = at === -1 ? image : image.slice(0, at);
  const slash = named.lastIndexOf('/');
  const colon = named.lastIndexOf(':');
  const repository = colon > slash ? named.slice(0, colon) : named;
  if (at !== -1) return { fromImage: repository, tag: image.slice(at + 1) };
  return { fromImage: repository, tag: colon > slash ? named.slice(colon + 1) : 'latest' };
}

export interface RegistryCredentials {
  username?: string;
  password?: string;
  identityToken?: string;
  serverAddress?: string;
}

/**
 * The `X-Registry-Auth` header: the auth configuration as JSON in base64url. Padded, as Docker's
 * client writes it (the Engine decodes it with Go's padded URL alphabet).
 */
export function registryAuthHeader(credentials: RegistryCredentials): string {
  const config = credentials.identityToken
    ? { identitytoken: credentials.identityToken, serveraddress: credentials.serverAddress }
    : {
        username: credentials.username,
        password: credentials.password,
        serveraddress: credentials.serverAddress,
      };
  return Buffer.from(JSON.stringify(config))
    .toString('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
}

/** The registry an image comes from, as Docker names it (`docker.io` images: the index URL). */
export function registryOf(image: string): string {
  const first = image.split('/')[0];
  const hosted = image.includes('/') && (/[.:]/.test(first) || first === 'localhost');
  return hosted ? first : 'https://index.docker.io/v1/';
}
