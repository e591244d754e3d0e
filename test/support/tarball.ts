import { gzipSync } from 'node:zlib';
import { Header, type HeaderData } from 'tar';

/** One entry of a hand-made tarball: what an attacker could put in a header. */
export interface RawEntry {
  path: string;
  type?: HeaderData['type'];
  linkpath?: string;
  body?: string;
  mode?: number;
}

/**
 * A gzipped tarball written header by header with node-tar's `Header`, so a test can send what
 * no well-behaved packer writes: `../` escapes, absolute paths, links out, devices, FIFOs.
 */
export function rawTarball(entries: readonly RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    const type = entry.type ?? 'File';
    const header = new Header({
      path: entry.path,
      type,
      linkpath: entry.linkpath,
      size: type === 'File' ? body.length : 0,
      mode: entry.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(type.endsWith('Device') ? { devmaj: 1, devmin: 3 } : {}),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === 'File' && body.length > 0)
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** The hostile archives every upload route must refuse, each with the entry it should name. */
export const HOSTILE_ARCHIVES: { name: string; entries: RawEntry[]; names: string }[] = [
  {
    name: 'a ../ escape',
    entries: [
      { path: 'index.html', body: 'ok' },
      { path: 'assets/../../escaped.txt', body: 'pwned' },
    ],
    names: 'assets/../../escaped.txt',
  },
  {
    name: 'an absolute path',
    entries: [
      { path: 'index.html', body: 'ok' },
      { path: '/tmp/qwickapps-absolute.txt', body: 'pwned' },
    ],
    names: '/tmp/qwickapps-absolute.txt',
  },
  {
    name: 'a symbolic link out',
    entries: [
      { path: 'index.html', body: 'ok' },
      { path: 'assets/out', type: 'SymbolicLink', linkpath: '../../..' },
      { path: 'assets/out/escaped.txt', body: 'pwned' },
    ],
    names: 'assets/out',
  },
  {
    name: 'a symbolic link out through another link',
    entries: [
      { path: 'index.html', body: 'ok' },
      { path: 'here', type: 'SymbolicLink', linkpath: '.' },
      { path: 'up', type: 'SymbolicLink', linkpath: 'here/..' },
    ],
    names: 'up',
  },
  {
    name: 'a hard link out',
    entries: [
      { path: 'index.html', body: 'ok' },
      { path: 'passwd', type: 'Link', linkpath: '../../../../etc/passwd' },
    ],
    names: 'passwd',
  },
  {
    name: 'a device file',
    entries: [
      { path: 'index.html', body: 'ok' },
      { path: 'null', type: 'CharacterDevice' },
    ],
    names: 'null',
  },
  {
    name: 'a FIFO',
    entries: [
      { path: 'index.html', body: 'ok' },
      { path: 'pipe', type: 'FIFO' },
    ],
    names: 'pipe',
  },
];
