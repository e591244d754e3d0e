import { useId, useState, type FormEvent } from 'react';
import type { UIJsonSchema } from '../../../src/core/ui.js';
import { send } from '../api.js';
import { fillIn } from '../format.js';
import { ViewFrame } from './common.js';

interface FieldSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  writeOnly?: boolean;
  properties?: Record<string, FieldSchema>;
  required?: string[];
}

type Values = Record<string, unknown>;

const typeOf = (schema: FieldSchema) =>
  Array.isArray(schema.type) ? schema.type.find((type) => type !== 'null') : schema.type;
const humanise = (name: string) =>
  name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/[_-]/g, ' ')
    .replace(/^./, (c) => c.toUpperCase());

function initialValues(schema: FieldSchema): Values {
  const values: Values = {};
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    if (typeOf(field) === 'object') values[name] = initialValues(field);
    else if (field.default !== undefined) values[name] = field.default;
    else if (typeOf(field) === 'boolean') values[name] = false;
  }
  return values;
}

/** Drops empty optional fields so the server applies its own defaults. */
function clean(values: Values): Values {
  const out: Values = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === '' || value === undefined) continue;
    out[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? clean(value as Values)
        : value;
  }
  return out;
}

function Field({
  name,
  schema,
  required,
  value,
  onChange,
}: {
  name: string;
  schema: FieldSchema;
  required: boolean;
  value: unknown;
  onChange: (value: unknown) => void;
}) {
  const id = useId();
  const type = typeOf(schema);
  const label = schema.title ?? humanise(name);
  const hint = schema.description ? <small id={`${id}-hint`}>{schema.description}</small> : null;
  const described = schema.description ? `${id}-hint` : undefined;
  if (type === 'object') {
    return (
      <fieldset className="fieldset">
        <legend>{label}</legend>
        <Fields schema={schema} values={(value as Values) ?? {}} onChange={onChange} />
      </fieldset>
    );
  }
  if (type === 'boolean') {
    return (
      <div className="field field-check">
        <input
          id={id}
          type="checkbox"
          checked={value === true}
          aria-describedby={described}
          onChange={(event) => onChange(event.target.checked)}
        />
        <label htmlFor={id}>{label}</label>
        {hint}
      </div>
    );
  }
  if (schema.enum) {
    return (
      <div className="field">
        <label htmlFor={id}>{label}</label>
        <select
          id={id}
          required={required}
          value={value === undefined ? '' : String(value)}
          aria-describedby={described}
          onChange={(event) =>
            onChange(schema.enum!.find((option) => String(option) === event.target.value))
          }
        >
          {!required && <option value="">—</option>}
          {schema.enum.map((option) => (
            <option key={String(option)} value={String(option)}>
              {String(option)}
            </option>
          ))}
        </select>
        {hint}
      </div>
    );
  }
  const numeric = type === 'number' || type === 'integer';
  const secret = schema.writeOnly === true || /passw|secret|token/i.test(name);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        type={
          numeric
            ? 'number'
            : secret
              ? 'password'
              : schema.format === 'email'
                ? 'email'
                : schema.format === 'uri'
                  ? 'url'
                  : 'text'
        }
        required={required}
        min={schema.minimum}
        max={schema.maximum}
        step={type === 'integer' ? 1 : numeric ? 'any' : undefined}
        minLength={schema.minLength}
        maxLength={schema.maxLength}
        pattern={schema.pattern}
        value={value === undefined || value === null ? '' : String(value)}
        aria-describedby={described}
        onChange={(event) =>
          onChange(
            numeric
              ? event.target.value === ''
                ? ''
                : Number(event.target.value)
              : event.target.value,
          )
        }
      />
      {hint}
    </div>
  );
}

function Fields({
  schema,
  values,
  onChange,
}: {
  schema: FieldSchema;
  values: Values;
  onChange: (values: Values) => void;
}) {
  const required = new Set(schema.required ?? []);
  return (
    <>
      {Object.entries(schema.properties ?? {}).map(([name, field]) => (
        <Field
          key={name}
          name={name}
          schema={field}
          required={required.has(name)}
          value={values[name]}
          onChange={(value) => onChange({ ...values, [name]: value })}
        />
      ))}
    </>
  );
}

/** A form generated from a JSON Schema (made from a zod schema); submits JSON to `action`. */
export function FormView({
  title,
  schema,
  action,
  method,
  submitLabel,
  successMessage,
}: {
  title?: string;
  schema: UIJsonSchema;
  action: string;
  method?: string;
  submitLabel?: string;
  successMessage?: string;
}) {
  const root = schema as FieldSchema;
  const [values, setValues] = useState<Values>(() => initialValues(root));
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setOutcome(undefined);
    try {
      const result = await send(action, method ?? 'POST', clean(values));
      const echo =
        result === undefined
          ? 'Saved.'
          : `Saved: ${typeof result === 'string' ? result : JSON.stringify(result)}`;
      setOutcome({ ok: true, text: successMessage ? fillIn(successMessage, result) : echo });
    } catch (error) {
      setOutcome({ ok: false, text: (error as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <ViewFrame title={title}>
      <form
        className="form"
        onSubmit={(event) => void onSubmit(event)}
        aria-label={title ?? 'Form'}
      >
        <Fields schema={root} values={values} onChange={setValues} />
        <div className="button-row">
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Sending…' : (submitLabel ?? 'Submit')}
          </button>
        </div>
        <div role="status" aria-live="polite">
          {outcome && (
            <p className={outcome.ok ? 'note note-ok' : 'note note-error'}>{outcome.text}</p>
          )}
        </div>
      </form>
    </ViewFrame>
  );
}
