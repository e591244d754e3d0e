import { RELEASE } from '../../test-support/gateway.js';
import type { ImageSpec } from './caprover-containers.js';

/**
 * The stand-in registry the CapRover tests deploy from: `api:<version>` (or any
 * `<registry>/api:<version>`) runs the traffic tests' release with `VERSION` baked in, as an
 * image built for that version would; anything else is not in the registry.
 */
export function releaseImages(image: string): ImageSpec | undefined {
  const match = /(?:^|\/)(?:api|shop-api):([\w.-]+)$/.exec(image);
  if (!match) return undefined;
  return { command: process.execPath, args: [RELEASE], env: { VERSION: match[1] } };
}
