import { z } from 'zod';

/*
 * Secrets never reach a log line, a config report or an error message: schemas mark them
 * (`secret()`), names that sound secret are caught, and passwords inside URLs are masked.
 */

/**
 * Marks a schema as secret: its value is masked wherever configuration is shown or logged.
 * @example z.object({ password: secret(z.string()) })
 */
export function secret<T extends z.ZodType>(schema: T): T {
  return schema.meta({ secret: true }) as T;
}

interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/** The schemas a wrapper stands for: optional/default/nullable/catch/readonly, and both ends of a pipe (transform). */
function wrapped(def: SchemaDef): z.ZodType[] {
  if (def.innerType) return [def.innerType];
  if (def.type === 'pipe')
    return [def.in, def.out].filter((inner): inner is z.ZodType => inner !== undefined);
  return [];
}

/**
 * True when the schema, or one it wraps (optional, default, nullable, a transform's input...),
 * was marked secret.
 */
export function isSecretSchema(schema: z.ZodType | undefined): boolean {
  const pending: { schema: z.ZodType; depth: number }[] = schema ? [{ schema, depth: 0 }] : [];
  while (pending.length > 0) {
    const { schema: current, depth } = pending.pop()!;
    if (z.globalRegistry.get(current)?.secret === true) return true;
    if (depth < 8)
      for (const inner of wrapped(defOf(current)))
        pending.push({ schema: inner, depth: depth + 1 });
  }
  return false;
}

export const MASK = '********';

// Substrings that make a name secret wherever they appear ("dbPassword", "SESSION_SECRET").
const SECRET_NAME =
  /secret|token|passw(or)?d|passphrase|pwd|credential|authorization|cookie|private/i;
// Words that only count on their own, so "bypass" or "keyPrefix" stay visible but "DB_PASS" does not.
const SECRET_WORDS = new Set(['pass', 'pw']);
// "key" names a secret ("apiKey", "API_KEY", "masterkey") unless a word after it says it is not the key itself.
const KEY_QUALIFIERS = new Set([
  'prefix',
  'suffix',
  'separator',
  'space',
  'id',
  'path',
  'file',
  'name',
  'names',
  'field',
  'length',
  'size',
  'count',
  'ttl',
  'pattern',
]);

function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter(Boolean);
}

/** Names like *SECRET*, *TOKEN*, *PASSWORD*, *KEY* are secret whatever their schema says. */
export function isSecretName(name: string): boolean {
  if (SECRET_NAME.test(name)) return true;
  const words = wordsOf(name);
  return words.some(
    (word, index) =>
      SECRET_WORDS.has(word) ||
      (/keys?$/.test(word) && !KEY_QUALIFIERS.has(words[index + 1] ?? '')),
  );
}

// A URL's scheme, its authority (up to the first / ? # or blank), and the rest of the token.
const URL_IN_TEXT = /([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)(\S*)/gi;

/**
 * Replaces the password part of every URL in the text (`postgres://user:********@host/db`).
 * The text is not re-serialised, and a password with unencoded characters that breaks URL
 * parsing is masked too, up to the last `@`.
 */
export function maskUrlPassword(value: string): string {
  const hasAt = value.includes('@');
  if (!hasAt && !value.includes('=')) return value;
  if (!value.includes('://')) return hasAt ? maskBareCredentials(value) : value;
  return value.replace(URL_IN_TEXT, (whole, scheme: string, authority: string, rest: string) => {
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      const colon = authority.indexOf(':');
      if (colon < 0 || colon > at || colon === at - 1)
        return `${scheme}${authority}${maskQuerySecrets(rest)}`;
      return `${scheme}${authority.slice(0, colon + 1)}${MASK}${authority.slice(at)}${maskQuerySecrets(rest)}`;
    }
    // No @ in the authority, yet one later: "user:pa/ss@host", a password with a raw "/", "?" or "#".
    const colon = authority.indexOf(':', authority.startsWith('[') ? authority.indexOf(']') : 0);
    const restAt = rest.lastIndexOf('@');
    if (colon < 0 || restAt < 0 || /^\d*$/.test(authority.slice(colon + 1)))
      return `${scheme}${authority}${maskQuerySecrets(rest)}`;
    return `${scheme}${authority.slice(0, colon + 1)}${MASK}${maskQuerySecrets(rest.slice(restAt))}`;
  });
}

const QUERY_PARAMETER = /([?&;])([^=&;#\s]+)=([^&;#\s]*)/g;

/** Drivers read credentials from the query too (`postgres://db/app?password=...`, `?access_token=`). */
function maskQuerySecrets(rest: string): string {
  if (!rest.includes('=')) return rest;
  return rest.replace(QUERY_PARAMETER, (whole, separator: string, name: string, value: string) =>
    value === '' || value === MASK || !isSecretName(name) ? whole : `${separator}${name}=${MASK}`,
  );
}

/**
 * A mistyped URL (`postgres//user:pw@db`) is no URL, yet still carries a password: mask any
 * `user:password@host` run. Over-masking a look-alike is harmless; leaking is not.
 */
function maskBareCredentials(value: string): string {
  return value.replace(
    /(^|[\s/"'=(])([^\s:@/"'()]+):([^\s@/"']+)@(?=[\w[])/g,
    (whole, before: string, user: string, password: string) =>
      password === MASK || /^\d+$/.test(password) ? whole : `${before}${user}:${MASK}@`,
  );
}

/**
 * Paths of the values a schema marks secret: `password`, `db.password`, `replicas[].password`,
 * `keys.*` for a record's values. Walks objects, arrays, records, unions and wrappers (a
 * transformed object schema keeps its secrets). Top-level keys keep their bare name.
 */
export function secretKeysOf(schema: z.ZodType | undefined): Set<string> {
  const keys = new Set<string>();
  if (schema) collectSecretPaths(schema, '', keys, 0);
  return keys;
}

function collectSecretPaths(
  schema: z.ZodType,
  path: string,
  keys: Set<string>,
  depth: number,
): void {
  if (depth > 16) return;
  if (path && isSecretSchema(schema)) {
    keys.add(path);
    return;
  }
  const def = defOf(schema);
  const child = (suffix: string) => (path ? `${path}.${suffix}` : suffix);
  const next = (inner: z.ZodType | undefined, innerPath: string) =>
    inner && collectSecretPaths(inner, innerPath, keys, depth + 1);
  switch (def.type) {
    case 'object':
      for (const [key, inner] of Object.entries(def.shape ?? {})) next(inner, child(key));
      return;
    case 'array':
      return void next(def.element, `${path}[]`);
    case 'record':
      return void next(def.valueType, child('*'));
    case 'union':
      for (const option of def.options ?? []) next(option, path);
      return;
    case 'intersection':
      next(def.left, path);
      return void next(def.right, path);
    default:
      for (const inner of wrapped(def)) next(inner, path);
  }
}

/** Array indices become `[]` so `replicas[2].password` matches the schema path `replicas[].password`. */
export function isSecretPath(
  secretKeys: ReadonlySet<string>,
  parentPath: string,
  key: string,
): boolean {
  if (secretKeys.size === 0) return false;
  const parent = parentPath.replace(/\[\d+\]/g, '[]');
  return (
    secretKeys.has(key) ||
    secretKeys.has(parent ? `${parent}.${key}` : key) ||
    secretKeys.has(parent ? `${parent}.*` : '*')
  );
}

const MAX_MASK_DEPTH = 32;

/**
 * Deep copy of a configuration value with secrets masked: keys named like secrets, paths listed
 * in `secretKeys` (see `secretKeysOf`), and passwords inside URLs. The copy is always safe to
 * serialise: class instances become a `[Name]` placeholder, cycles `[Circular]`, bytes their
 * length, so nothing leaks through a `toJSON` and nothing throws.
 */
export function maskSecrets(
  value: unknown,
  secretKeys: ReadonlySet<string> = new Set(),
  keyPath = '',
): unknown {
  return maskValue(value, secretKeys, keyPath, new WeakSet(), 0);
}

function maskValue(
  value: unknown,
  secretKeys: ReadonlySet<string>,
  keyPath: string,
  seen: WeakSet<object>,
  depth: number,
): unknown {
  if (typeof value === 'string') return maskUrlPassword(value);
  if (typeof value === 'bigint' || typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return `[Function${value.name ? ` ${value.name}` : ''}]`;
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_MASK_DEPTH) return '[Too deep]';
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof URL) return maskUrlPassword(value.href);
  if (value instanceof RegExp) return String(value);
  if (value instanceof Error) return `[${value.name}: ${maskUrlPassword(value.message)}]`;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer)
    return `[${value.constructor.name} ${value.byteLength} bytes]`;
  seen.add(value);
  try {
    if (Array.isArray(value) || value instanceof Set) {
      return [...value].map((item: unknown, index) =>
        maskValue(item, secretKeys, `${keyPath}[${index}]`, seen, depth + 1),
      );
    }
    const prototype: unknown = Object.getPrototypeOf(value);
    const entries =
      value instanceof Map
        ? [...value].map(([key, inner]: [unknown, unknown]) => [String(key), inner] as const)
        : prototype === Object.prototype || prototype === null
          ? Object.entries(value)
          : undefined;
    if (!entries)
      return `[${(value as { constructor?: { name?: string } }).constructor?.name || 'Object'}]`;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of entries) {
      const childPath = keyPath ? `${keyPath}.${key}` : key;
      out[key] = shouldHide(key, inner, isSecretPath(secretKeys, keyPath, key))
        ? MASK
        : maskValue(inner, secretKeys, childPath, seen, depth + 1);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * A schema-marked secret is hidden whatever it holds. A name that merely sounds secret hides
 * strings, lists and objects but not a boolean or a number ("tokenTtl: 3600"), which carry no
 * secret. Empty values stay visible so "not set" can be told apart.
 */
function shouldHide(key: string, value: unknown, markedSecret: boolean): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (markedSecret) return true;
  return isSecretName(key) && typeof value !== 'boolean' && typeof value !== 'number';
}
