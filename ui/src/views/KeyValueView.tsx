import type { UIField } from '../../../src/core/ui.js';
import { flatten, formatValue, valueAt } from '../format.js';
import { useResource } from '../use-resource.js';
import { ResourceState, StatusBadge, ViewFrame } from './common.js';

export function KeyValueList({ data, fields }: { data: unknown; fields?: UIField[] }) {
  const rows = fields
    ? fields.map((field) => ({
        label: field.label,
        value: valueAt(data, field.path),
        format: field.format,
      }))
    : flatten(data).map(([label, value]) => ({ label, value, format: undefined }));
  return (
    <dl className="key-values">
      {rows.map((row) => (
        <div key={row.label} className="key-value">
          <dt>{row.label}</dt>
          <dd>
            {row.format === 'status' ? (
              <StatusBadge value={row.value} />
            ) : (
              formatValue(row.value, row.format)
            )}
          </dd>
        </div>
      ))}
    </dl>
  );
}

export function KeyValueView({
  title,
  endpoint,
  path,
  fields,
  refreshMs,
}: {
  title?: string;
  endpoint: string;
  path?: string;
  fields?: UIField[];
  refreshMs?: number;
}) {
  const resource = useResource(endpoint, refreshMs);
  return (
    <ViewFrame title={title}>
      <ResourceState resource={resource}>
        {(data) => <KeyValueList data={valueAt(data, path)} fields={fields} />}
      </ResourceState>
    </ViewFrame>
  );
}
