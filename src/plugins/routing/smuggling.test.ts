import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestHeadProblem } from '../../core/request-head.js';
import {
  rawRequest,
  startGateway,
  startUpstream,
  type TestGateway,
  type TestUpstream,
} from '../../../test/support/upstream.js';

let service: TestUpstream;
let gateway: TestGateway;
beforeAll(async () => {
  service = await startUpstream((req, res) => {
    req.resume();
    req.on('end', () => res.end(`saw ${req.url}`));
  });
  gateway = await startGateway({
    routes: [{ match: '/public/*', target: service.url, stripPrefix: true, health: false }],
  });
});
afterAll(async () => {
  await gateway.app.stop();
  await service.close();
});

const send = (head: string, body = '') => rawRequest(gateway.port, `${head}\r\n\r\n${body}`);

describe('request smuggling', () => {
  const attempts: [string, string, string][] = [
    [
      'Content-Length with Transfer-Encoding',
      'POST /public/x HTTP/1.1\r\nHost: g\r\nContent-Length: 4\r\nTransfer-Encoding: chunked',
      '0\r\n\r\nGET /public/smuggled HTTP/1.1\r\nHost: g\r\n\r\n',
    ],
    [
      'Transfer-Encoding with Content-Length',
      'POST /public/x HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: chunked\r\nContent-Length: 40',
      '0\r\n\r\nGET /public/smuggled HTTP/1.1\r\nHost: g\r\n\r\n',
    ],
    [
      'two different Content-Lengths',
      'POST /public/x HTTP/1.1\r\nHost: g\r\nContent-Length: 3\r\nContent-Length: 40',
      'abcGET /public/smuggled HTTP/1.1\r\n\r\n',
    ],
    [
      'two equal Content-Lengths',
      'POST /public/x HTTP/1.1\r\nHost: g\r\nContent-Length: 3\r\nContent-Length: 3',
      'abc',
    ],
    ['a signed Content-Length', 'POST /public/x HTTP/1.1\r\nHost: g\r\nContent-Length: +3', 'abc'],
    [
      'Transfer-Encoding: xchunked',
      'POST /public/x HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: xchunked',
      '0\r\n\r\n',
    ],
    [
      'Transfer-Encoding: chunked, identity',
      'POST /public/x HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: chunked, identity',
      '0\r\n\r\n',
    ],
    [
      'Transfer-Encoding: identity, chunked',
      'POST /public/x HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: identity, chunked',
      '0\r\n\r\n',
    ],
    [
      'two Transfer-Encoding headers',
      'POST /public/x HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x',
      '0\r\n\r\n',
    ],
    [
      'a space before the colon',
      'POST /public/x HTTP/1.1\r\nHost: g\r\nTransfer-Encoding : chunked',
      '0\r\n\r\n',
    ],
    [
      'a folded Transfer-Encoding',
      'POST /public/x HTTP/1.1\r\nHost: g\r\nTransfer-Encoding:\r\n chunked',
      '0\r\n\r\n',
    ],
    [
      'a vertical tab before chunked',
      'POST /public/x HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: \x0bchunked',
      '0\r\n\r\n',
    ],
  ];

  it.each(attempts)('refuses %s with 400 and forwards nothing', async (_name, head, body) => {
    const before = service.seen.length;
    const answer = await send(head, body);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).not.toContain('saw ');
    expect(service.seen.length).toBe(before);
  });

  it('forwards well-formed chunked and Content-Length bodies', async () => {
    const chunked = await send(
      'POST /public/ok HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: chunked\r\nConnection: close',
      '3\r\nabc\r\n0\r\n\r\n',
    );
    expect(chunked).toMatch(/^HTTP\/1\.1 200 [\s\S]*saw \/ok$/);
    const sized = await send(
      'POST /public/ok2 HTTP/1.1\r\nHost: g\r\nContent-Length: 3\r\nConnection: close',
      'abc',
    );
    expect(sized).toMatch(/^HTTP\/1\.1 200 [\s\S]*saw \/ok2$/);
  });

  // Node's parser refuses most of the above before any handler runs; the core server's own check
  // covers the rest and any future parser leniency. It reads only the raw headers.
  it('has its own framing check behind the parser', () => {
    const framingProblem = (req: IncomingMessage) => requestHeadProblem(req)?.detail;
    const req = (...raw: string[]) => ({ rawHeaders: raw }) as unknown as IncomingMessage;
    expect(framingProblem(req('Content-Length', '3'))).toBeUndefined();
    expect(framingProblem(req('Transfer-Encoding', 'Chunked'))).toBeUndefined();
    expect(framingProblem(req('Content-Length', '3', 'content-length', '3'))).toMatch(
      /more than one Content-Length/,
    );
    expect(framingProblem(req('Content-Length', '3', 'Transfer-Encoding', 'chunked'))).toMatch(
      /both/,
    );
    expect(framingProblem(req('Transfer-Encoding', 'chunked, identity'))).toMatch(
      /exactly "chunked"/,
    );
    expect(framingProblem(req('Transfer-Encoding', 'xchunked'))).toMatch(/exactly "chunked"/);
    expect(
      framingProblem(req('Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked')),
    ).toMatch(/more than one Transfer-Encoding/);
    expect(framingProblem(req('Content-Length', '0x3'))).toMatch(/decimal/);
  });
});

describe('path traversal and ambiguous encodings', () => {
  const get = (target: string) => send(`GET ${target} HTTP/1.1\r\nHost: g\r\nConnection: close`);

  it.each([
    '/public/../admin',
    '/public/%2e%2e/admin',
    '/public/%2E%2e/%2e./admin',
    '/public/.%2E/admin',
    '/public//..//admin',
    '/public/a/../../admin',
  ])('normalises %s out of the route: it is not proxied', async (target) => {
    const before = service.seen.length;
    const answer = await get(target);
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(service.seen.length).toBe(before);
  });

  it.each([
    '/public/..%2fadmin',
    '/public/%2fadmin',
    '/public/%5c..%5cadmin',
    '/public\\..\\admin',
    '/public/%00',
    '/public/%zz',
    '/public/%2',
  ])('refuses the ambiguous %s with 400 problem+json', async (target) => {
    const before = service.seen.length;
    const answer = await get(target);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(service.seen.length).toBe(before);
  });

  it('forwards the normalised path, with unreserved characters decoded and the rest kept encoded', async () => {
    expect(await get('/public/a/./b/../%7Euser/%41')).toMatch(/saw \/a\/~user\/A$/);
    expect(await get('/public/%252e%252e/x%20y')).toMatch(/saw \/%252e%252e\/x%20y$/);
    expect(service.seen.every((request) => !/\/\.\.?(\/|$)|%2f|\/\//i.test(request.url))).toBe(
      true,
    );
  });
});
