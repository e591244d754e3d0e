import { describe, expect, it } from 'vitest';
import { isDataContentType } from './content-type.js';

describe('isDataContentType', () => {
  it('counts JSON, text, binary and media (but SVG) as data', () => {
    for (const type of [
      'application/json',
      'application/problem+json',
      'application/vnd.api+json; charset=utf-8',
      'APPLICATION/JSON',
      'application/x-ndjson',
      'application/octet-stream',
      'text/plain',
      'text/plain;charset=utf-8',
      'text/csv',
      'text/event-stream',
      'image/png',
      'image/webp',
      'video/mp4',
      'font/woff2',
    ])
      expect(isDataContentType(type), type).toBe(true);
  });

  it('counts anything a browser may render or sniff as a document', () => {
    for (const type of [
      undefined,
      '',
      'text/html',
      'text/html; charset=utf-8',
      'application/xhtml+xml',
      'image/svg+xml',
      'application/xml',
      'text/xml',
      'text/css',
      'text/javascript',
      'application/pdf',
      'application/jsonp',
      'text/plainx',
      ['application/json', 'text/html'],
    ])
      expect(isDataContentType(type as string | undefined), String(type)).toBe(false);
  });
});
