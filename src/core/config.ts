import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';
import {
  MASK,
  isSecretName,
  isSecretPath,
  isSecretSchema,
  maskSecrets,
  maskUrlPassword,
} from './masking.js';

function describeReceived(value: unknown, hide: boolean): string {
  if (value === undefined) return 'nothing (not set)';
  if (hide) return MASK;
  if (typeof value === 'string') return JSON.stringify(maskUrlPassword(value));
  try {
    const json = JSON.stringify(maskSecrets(value));
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
  if (issue.code === 'unrecognized_keys') return `no such option (${issue.keys.join(', ')})`;
  const message = issue.message.replace(/^Invalid (input|option|value|type)?:?\s*/i, '');
  return message.replace(/^expected\s+/i, '').replace(/,?\s*received\s+.*$/i, '') || issue.message;
}

/** True when any step of the issue's path is secret by schema marking or by name. */
function isSecretIssuePath(path: readonly PropertyKey[], secretKeys: ReadonlySet<string>): boolean {
  let parent = '';
  for (const step of path) {
    const key = String(step);
    if (typeof step === 'number') {
      parent = `${parent}[${key}]`;
      continue;
    }
    if (isSecretName(key) || isSecretPath(secretKeys, parent, key)) return true;
    parent = parent ? `${parent}.${key}` : key;
  }
  return false;
}

/** Converts zod issues to ConfigIssues, each named `${prefix}${path}`. */
export function toConfigIssues(
  error: z.ZodError,
  input: unknown,
  options: {
    prefix?: string;
    secretKeys?: ReadonlySet<string>;
    rename?: (path: string) => string;
  } = {},
): ConfigIssue[] {
  return error.issues.map((issue) => {
    const dotted = issue.path.map(String).join('.');
    const name = options.rename ? options.rename(dotted) : `${options.prefix ?? ''}${dotted}`;
    const hide = isSecretIssuePath(issue.path, options.secretKeys ?? new Set());
    return {
      name: name || options.prefix?.replace(/\.$/, '') || '(root)',
      received: describeReceived(valueAt(input, issue.path), hide),
      expected: describeExpected(issue),
    };
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
  [K in keyof S]: S[K] extends EnvVariable<infer T>
    ? z.output<T>
    : S[K] extends z.ZodType
      ? z.output<S[K]>
      : never;
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
export function readEnv<S extends EnvSpec>(
  spec: S,
  env: NodeJS.ProcessEnv = process.env,
): EnvValues<S> {
  const { values, issues } = inspectEnv(spec, env);
  if (issues.length > 0) throw new ConfigError(issues);
  return values as EnvValues<S>;
}

/** Validates without throwing; used by `readEnv` and by the config plugin's report. */
export function inspectEnv(
  spec: EnvSpec,
  env: NodeJS.ProcessEnv = process.env,
): {
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
      report.push({
        name,
        status: 'invalid',
        value: raw === undefined ? undefined : hide ? MASK : maskUrlPassword(raw),
        description: variable.description,
        secret: hide,
        error: `expected ${expected}`,
      });
    }
  }
  return { values, issues, report };
}
