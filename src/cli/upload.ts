import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';

/**
 * PUTs a file with node:http rather than fetch: a gateway that refuses an upload answers at once
 * (413 before the body is read) and closes the connection, and node:http hands over that answer
 * even while the rest of the file can no longer be written, where fetch reports only the broken
 * connection.
 */
export function putFile(
  url: string,
  file: string,
  headers: Record<string, string>,
  timeout: number,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const transport = url.startsWith('https:') ? https : http;
    const request = transport.request(url, { method: 'PUT', headers, timeout });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeout} ms`)));
    request.on('response', (response) => {
      answered = true;
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', reject);
    });
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    pipeline(createReadStream(file), request).catch((error: unknown) => {
      if (!answered) reject(error as Error);
    });
  });
}
