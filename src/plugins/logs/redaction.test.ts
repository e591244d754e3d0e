import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { json } from '../../../test/support/http.js';
import { startLoggingApp, stopLoggingApps } from './test-support/apps.js';

afterEach(stopLoggingApps);

const SECRET = 'sekrit-token-123';

describe('credentials in the log file', () => {
  it('never writes an Authorization header or cookie unredacted, even at debug level', async () => {
    const target = await startLoggingApp();
    const response = await fetch(`${target.url}/api/v1/hello`, {
      headers: {
        authorization: `Bearer ${SECRET}`,
        cookie: `session=${SECRET}; theme=dark`,
        'proxy-authorization': `Basic ${SECRET}`,
        'x-api-key': SECRET,
        'x-request-id': 'redaction-check',
      },
    });
    expect(response.status).toBe(200);
    await target.flush();

    const content = await readFile(target.logFile, 'utf8');
    const line = content
      .split('\n')
      .filter(Boolean)
      .map(
        (text) =>
          JSON.parse(text) as {
            requestId?: string;
            msg?: string;
            req: { headers: Record<string, string> };
          },
      )
      .find((entry) => entry.requestId === 'redaction-check' && entry.msg === 'request completed');
    // The headers were logged (debug level), with the credentials replaced.
    expect(line?.req.headers.authorization).toBe('[REDACTED]');
    expect(line?.req.headers.cookie).toBe('[REDACTED]');
    expect(line?.req.headers['x-api-key']).toBe('[REDACTED]');
    expect(line?.req.headers['x-request-id']).toBe('redaction-check');
    expect(content).toContain('[REDACTED]');
    expect(content).not.toContain(SECRET);

    // Nor can the logs endpoint find it (this query's own request line is written after it answers).
    expect((await json(fetch(`${target.url}/api/logs?q=${SECRET}`))).entries).toEqual([]);
  });
});
