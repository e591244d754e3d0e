import { FORWARDED_USER_CLAIM, userFromForwarded } from '../identity.js';
import type { AuthProvider } from '../types.js';

export interface GatewayAdapterOptions {
  /** The gateway's `forward.secret` (its `AUTH_FORWARD_SECRET`): at least 32 characters. */
  secret: string;
  /** The gateway's `forward.issuer`. Default `qwickapps-gateway`. */
  issuer?: string;
  /** The gateway's `forward.audience`. Default `qwickapps-service`. */
  audience?: string;
  /** The gateway's `forward.header`. Default `x-qwickapps-identity`. */
  header?: string;
  /** The provider's name in this app. Default `gateway`. */
  name?: string;
}

/**
 * For a service behind a gateway built with this framework: trusts the identity the gateway
 * verified and forwarded, a short-lived HS256 token in `header` (never `Authorization`), and
 * yields the same user the gateway saw. A header without the gateway's signature, with another
 * issuer or audience, or expired, is refused; the gateway drops any such header a client sends.
 * @example
 * createApp({ name: 'api', plugins: [createAuthPlugin({ providers: [gatewayAdapter({ secret: process.env.AUTH_FORWARD_SECRET! })] })] })
 */
export function gatewayAdapter(options: GatewayAdapterOptions): AuthProvider {
  const problems: { option: string; message: string }[] = [];
  const secret = typeof options.secret === 'string' ? options.secret : '';
  if (Buffer.byteLength(secret, 'utf8') < 32)
    problems.push({
      option: 'secret',
      message: "at least 32 bytes: the gateway's forward.secret (AUTH_FORWARD_SECRET)",
    });
  const header = (options.header ?? 'x-qwickapps-identity').toLowerCase();
  if (!/^[a-z0-9-]+$/.test(header) || header === 'authorization')
    problems.push({ option: 'header', message: 'a header name other than authorization' });
  return {
    name: options.name ?? 'gateway',
    kind: 'gateway',
    issuer: options.issuer ?? 'qwickapps-gateway',
    audience: options.audience ?? 'qwickapps-service',
    algorithms: ['HS256'],
    keys: { secret: new TextEncoder().encode(secret) },
    header,
    requiredClaims: [FORWARDED_USER_CLAIM],
    toUser: userFromForwarded,
    problems,
  };
}
