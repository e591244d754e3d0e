import { HttpError } from '../../core/errors.js';

/** Deeper values are refused: JSON.parse would rebuild them, but the walk must stay bounded. */
const MAX_DEPTH = 256;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const child = (path: string, key: string) =>
  IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;

/**
 * Why `value` would not come back from JSON as it went in, or undefined when it would.
 * Refused: functions, symbols, BigInt, NaN and ±Infinity, `undefined` (at the top or in arrays),
 * sparse arrays, circular references and class instances (Date, Map, Set, Buffer ...).
 */
export function jsonSafetyProblem(
  value: unknown,
  path = 'value',
  depth = 0,
  ancestors: object[] = [],
): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : `${path} is ${value}, which JSON cannot represent`;
    case 'undefined':
      return `${path} is undefined`;
    case 'bigint':
      return `${path} is a BigInt (store it as a string)`;
    case 'symbol':
      return `${path} is a Symbol`;
    case 'function':
      return `${path} is a function`;
  }
  if (value === null) return undefined;
  const object = value as object;
  if (depth >= MAX_DEPTH) return `${path} is nested deeper than ${MAX_DEPTH} levels`;
  if (ancestors.includes(object)) return `${path} is a circular reference`;
  ancestors.push(object);
  try {
    if (Array.isArray(object)) {
      for (let index = 0; index < object.length; index++) {
        if (!(index in object)) return `${path}[${index}] is a hole in a sparse array`;
        const problem = jsonSafetyProblem(object[index], `${path}[${index}]`, depth + 1, ancestors);
        if (problem) return problem;
      }
      return undefined;
    }
    const prototype: unknown = Object.getPrototypeOf(object);
    if (prototype !== Object.prototype && prototype !== null) {
      const name =
        (object as { constructor?: { name?: string } }).constructor?.name ?? 'class instance';
      const hint =
        object instanceof Date
          ? ' (store date.toISOString() and parse it when read)'
          : ' (store a plain object)';
      return `${path} is a ${name}${hint}`;
    }
    for (const key of Object.keys(object)) {
      const inner = (object as Record<string, unknown>)[key];
      // JSON drops undefined properties; reading them back still gives undefined, so allow it.
      if (inner === undefined) continue;
      const problem = jsonSafetyProblem(inner, child(path, key), depth + 1, ancestors);
      if (problem) return problem;
    }
    return undefined;
  } finally {
    ancestors.pop();
  }
}

/** Throws `CACHE_VALUE_NOT_SERIALIZABLE` naming the key and the offending part of the value. */
export function assertJsonSafe(key: string, value: unknown): void {
  const problem = jsonSafetyProblem(value);
  if (problem === undefined) return;
  throw new HttpError(
    500,
    'CACHE_VALUE_NOT_SERIALIZABLE',
    `Cannot cache key "${key}": ${problem}; cached values must survive JSON unchanged.`,
    {
      details: { key },
    },
  );
}
