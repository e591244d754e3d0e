/** A browser's cookies, per origin (enough for one app and one OP on loopback). */
export class CookieJar {
  private readonly cookies = new Map<string, Map<string, string>>();

  header(url: string): string {
    const jar = this.cookies.get(new URL(url).origin);
    return jar ? [...jar].map(([name, value]) => `${name}=${value}`).join('; ') : '';
  }

  get(url: string, name: string): string | undefined {
    return this.cookies.get(new URL(url).origin)?.get(name);
  }

  set(url: string, name: string, value: string): void {
    const origin = new URL(url).origin;
    if (!this.cookies.has(origin)) this.cookies.set(origin, new Map());
    this.cookies.get(origin)!.set(name, value);
  }

  store(url: string, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((item) => /^\s*max-age=0\s*$/i.test(item));
      if (expired || value === '') this.cookies.get(new URL(url).origin)?.delete(name);
      else this.set(url, name, value);
    }
  }

  /** `fetch` with this jar's cookies, redirects not followed. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.header(url);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.store(url, response);
    return response;
  }
}

export interface SignInResult {
  jar: CookieJar;
  /** The callback URL the OP sent the browser to (replay tests use it again). */
  callbackUrl: string;
  /** The app's answer to the callback (a 303 to `returnTo` when the login worked). */
  response: Response;
}

/**
 * Drives a whole authorization-code login as a browser would: the app's login route, the OP's
 * authorize endpoint, its sign-in form, back to the app's callback with the session cookie.
 * `stopAtCallback` returns the callback URL without visiting it.
 * @example const { jar } = await signIn(`${app}/auth/login`, { login: 'user-alice', password: 'alice-password' })
 */
export async function signIn(
  loginUrl: string,
  user: { login: string; password: string },
  options: { jar?: CookieJar; stopAtCallback?: boolean; callbackPath?: string } = {},
): Promise<SignInResult> {
  const jar = options.jar ?? new CookieJar();
  const app = new URL(loginUrl).origin;
  const callbackPath = options.callbackPath ?? '/auth/callback';
  let current = loginUrl;
  let response = await jar.fetch(current);
  for (let hop = 0; hop < 12; hop++) {
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location)
      throw new Error(`login stopped at ${response.status} ${await response.text()}`);
    const next = new URL(location, current).href;
    if (next.startsWith(`${app}${callbackPath}`)) {
      if (options.stopAtCallback) return { jar, callbackUrl: next, response };
      return { jar, callbackUrl: next, response: await jar.fetch(next) };
    }
    current = next;
    response = await jar.fetch(next);
    if (response.status === 200 && /\/interaction\//.test(next)) {
      response = await jar.fetch(next, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(user),
      });
    }
  }
  throw new Error('login took more than 12 redirects');
}
