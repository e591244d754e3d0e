import { HttpError } from '../../core/errors.js';
import type { FieldConfig, UsersConfig } from './options.js';

/** A field's values as stored: strings, or absent. */
export type FieldValues = Record<string, string | undefined>;

// Deliberately plain: one @, no spaces, a dot in the domain. Deliverability is the provider's job.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const invalid = (field: string, message: string) =>
  new HttpError(400, 'USERS_FIELD_INVALID', `${field}: ${message}`, { details: { field } });

export const typeOf = (name: string, field: FieldConfig) =>
  field.type ?? (name === 'email' ? 'email' : 'text');

/** The value as stored and compared: trimmed, and an email lower-cased. */
export function normalise(name: string, field: FieldConfig, value: string): string {
  const trimmed = value.trim();
  return typeOf(name, field) === 'email' ? trimmed.toLowerCase() : trimmed;
}

function checkValue(name: string, field: FieldConfig, value: string): void {
  if (value.length > field.maxLength)
    throw invalid(name, `at most ${field.maxLength} characters (got ${value.length})`);
  const type = typeOf(name, field);
  if (type === 'email' && !EMAIL.test(value)) throw invalid(name, 'not an email address');
  if (type === 'url') {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
      throw invalid(name, 'not an http or https URL');
  }
}

/**
 * Checks a create (`partial` false) or update (`partial` true) body against the configured
 * fields and answers the values to write: a string sets a field, `null` clears it (a PATCH of
 * a field that is not required). Unknown fields and wrong types are 400s naming the field.
 */
export function validateFields(config: UsersConfig, body: unknown, partial: boolean): FieldValues {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'USERS_INVALID_BODY', 'Send the user as a JSON object.');
  const input = body as Record<string, unknown>;
  const out: FieldValues = {};
  for (const name of Object.keys(input))
    if (!Object.hasOwn(config.fields, name)) throw invalid(name, 'not a field of users here');
  for (const [name, field] of Object.entries(config.fields)) {
    if (!Object.hasOwn(input, name) && partial) continue;
    const raw = input[name];
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
      if (field.required) throw invalid(name, 'required');
      out[name] = undefined;
      continue;
    }
    if (typeof raw !== 'string') throw invalid(name, 'must be a string');
    const value = normalise(name, field, raw);
    checkValue(name, field, value);
    out[name] = value;
  }
  return out;
}
