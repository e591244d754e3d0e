import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';

/**
 * Marks a schema as secret: its value is masked wherever configuration is shown or logged.
 * @example z.object({ password: secret(z.string()) })
 */
export function secret<T extends z.ZodType>(schema: T): T {
  return schema.meta({ secret: true }) as T;
}

/** True when the schema (or the one it wraps with optional/default/nullable) was marked secret. */
export function isSecretSchema(schema: z.ZodType | undefined): boolean {
  let current: z.ZodType | undefined = schema;
  for (let depth = 0; current && depth < 8; depth++) {
    if (z.globalRegistry.get(current)?.secret === true) return true;
    const inner = (current as unknown as { _zod: { def: { innerType?: z.ZodType } } })._zod.def.innerType;
    current = inner;
  }
  return false;
}

const SECRET_NAME = /secret|token|passw(or)?d|pwd|key|credential|authorization|cookie|private/i;
export const MASK = '********';

/** Names like *SECRET*, *TOKEN*, *PASSWORD*, *KEY* are secret whatever their schema says. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Replaces the password part of a URL; returns the input unchanged when it is not a URL. */
export function maskUrlPassword(value: string): string {
  if (!value.includes('@') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = MASK;
    return url.toString();
  } catch {
    return value;
  }
}

/**
 * Deep copy of a configuration value with secrets masked: keys named like secrets, paths listed
 * in `secretKeys`, and passwords inside URLs.
 */
export function maskSecrets(value: unknown, secretKeys: ReadonlySet<string> = new Set(), keyPath = ''): unknown {
  if (typeof value === 'string') return maskUrlPassword(value);
  if (Array.isArray(value)) return value.map((item, index) => maskSecrets(item, secretKeys, `${keyPath}[${index}]`));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      const childPath = keyPath ? `${keyPath}.${key}` : key;
      const hide = isSecretName(key) || secretKeys.has(childPath) || secretKeys.has(key);
      out[key] = hide && inner !== undefined && inner !== null && inner !== '' ? MASK : maskSecrets(inner, secretKeys, childPath);
    }
    return out;
  }
  return value;
}

/** Top-level keys of an object schema that are marked secret. */
export function secretKeysOf(schema: z.ZodType | undefined): Set<string> {
  const keys = new Set<string>();
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> } | undefined)?.shape;
  if (shape) for (const [key, inner] of Object.entries(shape)) if (isSecretSchema(inner)) keys.add(key);
  return keys;
}

function describeReceived(value: unknown, hide: boolean): string {
  if (value === undefined) return 'nothing (not set)';
  if (hide) return MASK;
  if (typeof value === 'string') return JSON.stringify(maskUrlPassword(value));
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return String(value);
  }
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Zod's own messages start with "Invalid input: expected ..."; keep only what is expected. */
function describeExpected(issue: z.core.$ZodIssue): string {
  const message = issue.message.replace(/^Invalid (input|option|value|type)?:?\s*/i, '');
  return message.replace(/^expected\s+/i, '').replace(/,?\s*received\s+.*$/i, '') || issue.message;
}

/** Converts zod issues to ConfigIssues, each named `${prefix}${path}`. */
export function toConfigIssues(
  error: z.ZodError,
  input: unknown,
  options: { prefix?: string; secretKeys?: ReadonlySet<string>; rename?: (path: string) => string } = {},
): ConfigIssue[] {
  return error.issues.map((issue) => {
    const dotted = issue.path.map(String).join('.');
    const name = options.rename ? options.rename(dotted) : `${options.prefix ?? ''}${dotted}`;
    const hide = options.secretKeys?.has(String(issue.path[0])) || isSecretName(dotted);
    return { name: name || options.prefix?.replace(/\.$/, '') || '(root)', received: describeReceived(valueAt(input, issue.path), hide ?? false), expected: describeExpected(issue) };
  });
}

/** One environment variable the app reads. */
export interface EnvVariable<T extends z.ZodType = z.ZodType> {
  schema: T;
  description?: string;
  secret?: boolean;
}

export type EnvSpec = Record<string, EnvVariable | z.ZodType>;
export type EnvValues<S extends EnvSpec> = {
  [K in keyof S]: S[K] extends EnvVariable<infer T> ? z.output<T> : S[K] extends z.ZodType ? z.output<S[K]> : never;
};

/** What the config plugin shows for each variable the app reads. */
export interface EnvReport {
  name: string;
  status: 'set' | 'missing' | 'invalid';
  value?: string;
  description?: string;
  secret: boolean;
  error?: string;
}

function normalise(entry: EnvVariable | z.ZodType): EnvVariable {
  return entry instanceof z.ZodType ? { schema: entry } : entry;
}

/**
 * Reads and validates environment variables; every problem is reported at once, each naming
 * the variable, what it received and what it expects.
 * @example const env = readEnv({ PORT: z.coerce.number().int().min(0).max(65535).default(3101) })
 */
export function readEnv<S extends EnvSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): EnvValues<S> {
  const { values, issues } = inspectEnv(spec, env);
  if (issues.length > 0) throw new ConfigError(issues);
  return values as EnvValues<S>;
}

/** Validates without throwing; used by `readEnv` and by the config plugin's report. */
export function inspectEnv(spec: EnvSpec, env: NodeJS.ProcessEnv = process.env): {
  values: Record<string, unknown>;
  issues: ConfigIssue[];
  report: EnvReport[];
} {
  const values: Record<string, unknown> = {};
  const issues: ConfigIssue[] = [];
  const report: EnvReport[] = [];
  for (const [name, entry] of Object.entries(spec)) {
    const variable = normalise(entry);
    const raw = env[name] === '' ? undefined : env[name];
    const hide = variable.secret === true || isSecretSchema(variable.schema) || isSecretName(name);
    const result = variable.schema.safeParse(raw);
    if (result.success) {
      values[name] = result.data;
      report.push({
        name,
        status: raw === undefined ? 'missing' : 'set',
        value: raw === undefined ? undefined : hide ? MASK : maskUrlPassword(raw),
        description: variable.description,
        secret: hide,
      });
    } else {
      const expected = result.error.issues.map(describeExpected).join('; ');
      issues.push({ name, received: describeReceived(raw, hide), expected });
      report.push({ name, status: 'invalid', value: raw === undefined ? undefined : hide ? MASK : raw, description: variable.description, secret: hide, error: `expected ${expected}` });
    }
  }
  return { values, issues, report };
}
