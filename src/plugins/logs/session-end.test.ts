import { Agent } from 'undici';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/http.js';
import { createControlPanelPlugin, createPasswordGuard } from '../control-panel/index.js';
import { login, uiFixture } from '../control-panel/test-support/fixtures.js';
import { startLoggingApp, stopLoggingApps, type LoggingApp } from './test-support/apps.js';
import { openStream } from './test-support/stream-client.js';

const PASSWORD = 'correct horse battery';
const ui = uiFixture();
afterAll(() => ui.remove());

let agent: Agent;
beforeEach(() => {
  agent = new Agent();
});
afterEach(async () => {
  await agent.destroy();
  await stopLoggingApps();
});

/** The logs plugin behind the control panel's password guard. */
function startGuarded(
  panel: Parameters<typeof createControlPanelPlugin>[0] = {},
): Promise<LoggingApp> {
  return startLoggingApp({}, {}, [
    createControlPanelPlugin({ uiDir: ui.dir, password: PASSWORD, ...panel }),
  ]);
}

/** Logs one request line (its `request completed`) under `requestId`. */
async function request(target: LoggingApp, requestId: string): Promise<void> {
  expect(
    (await fetch(`${target.url}/api/v1/hello`, { headers: { 'x-request-id': requestId } })).status,
  ).toBe(200);
  await target.flush();
}

describe('a log stream ends with the session it was opened with', () => {
  it('ends at logout: the stream says why and closes, later lines reach only the other streams', async () => {
    const target = await startGuarded();
    const leaving = await login(target.url, 'admin', PASSWORD);
    const staying = await login(target.url, 'admin', PASSWORD);
    const ended = await openStream(target, agent, '', { cookie: leaving.cookie });
    const open = await openStream(target, agent, '', { cookie: staying.cookie });
    // Basic credentials have no session to end: such a stream is the client's to close.
    const basic = await openStream(target, agent, '', {
      authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`,
    });
    expect([ended.response.status, open.response.status, basic.response.status]).toEqual([
      200, 200, 200,
    ]);
    await request(target, 'before-logout');
    await waitFor(
      () => ended.events.some((event) => event.requestId === 'before-logout'),
      'a line while logged in',
      1_000,
    );

    const logout = await fetch(`${target.url}/cpanel/api/logout`, {
      method: 'POST',
      headers: { cookie: leaving.cookie, 'x-csrf-token': leaving.csrfToken },
    });
    expect(logout.status).toBe(204);
    await waitFor(() => ended.ended(), 'the logged-out stream to close', 1_000);
    expect(ended.named).toEqual([{ event: 'session-ended', data: { reason: 'logout' } }]);

    await request(target, 'after-logout');
    await waitFor(
      () =>
        [open, basic].every((stream) =>
          stream.events.some((event) => event.requestId === 'after-logout'),
        ),
      'the line on the streams still open',
      1_000,
    );
    expect(ended.events.some((event) => event.requestId === 'after-logout')).toBe(false);
    expect(open.ended()).toBe(false);
    expect(target.logs.stats().streams).toBe(2);
    expect((await openStream(target, agent, '', { cookie: leaving.cookie })).response.status).toBe(
      401,
    );
    open.close();
    basic.close();
  });

  it('ends when the session expires while the stream is open, with no request to notice it', async () => {
    const ttl = 1_000;
    const guard = createPasswordGuard({
      user: 'admin',
      password: PASSWORD,
      sessionTtl: ttl,
      maxSessions: 10,
      loginRateLimit: { max: 5, windowMs: 60_000 },
    });
    const target = await startGuarded({ guard });
    const loggedInAt = Date.now();
    const { cookie } = await login(target.url, 'admin', PASSWORD);
    const stream = await openStream(target, agent, '', { cookie });
    expect(stream.response.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, ttl / 2));
    expect(stream.ended()).toBe(false);

    await waitFor(() => stream.ended(), 'the stream to close at expiry', ttl * 2);
    // Not before the session's absolute lifetime ran out (the timer is armed for expiresAt).
    expect(Date.now() - loggedInAt).toBeGreaterThanOrEqual(ttl - 50);
    expect(stream.named).toEqual([{ event: 'session-ended', data: { reason: 'expired' } }]);
    expect(target.logs.stats().streams).toBe(0);
  });

  it("ends at revocation: revoking the other sessions closes their streams and keeps the caller's", async () => {
    const target = await startGuarded();
    const [caller, other] = [
      await login(target.url, 'admin', PASSWORD),
      await login(target.url, 'admin', PASSWORD),
    ];
    const kept = await openStream(target, agent, '', { cookie: caller.cookie });
    const revoked = [
      await openStream(target, agent, '', { cookie: other.cookie }),
      await openStream(target, agent, '?level=error', { cookie: other.cookie }),
    ];
    const answer = await fetch(`${target.url}/cpanel/api/sessions/revoke`, {
      method: 'POST',
      headers: {
        cookie: caller.cookie,
        'x-csrf-token': caller.csrfToken,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ keepCurrent: true }),
    });
    expect(await answer.json()).toEqual({ revoked: 1 });
    await waitFor(
      () => revoked.every((stream) => stream.ended()),
      'both streams of the revoked session to close',
      1_000,
    );
    for (const stream of revoked)
      expect(stream.named).toEqual([{ event: 'session-ended', data: { reason: 'revoked' } }]);
    await request(target, 'after-revoke');
    await waitFor(
      () => kept.events.some((event) => event.requestId === 'after-revoke'),
      "the line on the caller's stream",
      1_000,
    );
    expect(target.logs.stats().streams).toBe(1);
    kept.close();
  });
});
