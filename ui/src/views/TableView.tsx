import type { UIColumn } from '../../../src/core/ui.js';
import { formatValue, valueAt } from '../format.js';
import { useResource } from '../use-resource.js';
import { ResourceState, StatusBadge, ViewFrame } from './common.js';

export function Table({
  rows,
  columns,
  caption,
}: {
  rows: unknown[];
  columns: UIColumn[];
  caption?: string;
}) {
  if (rows.length === 0) return <p className="note">No rows.</p>;
  return (
    <div className="table-scroll" role="region" aria-label={caption ?? 'Table'} tabIndex={0}>
      <table>
        {caption && <caption className="visually-hidden">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column.key} scope="col">
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={index}>
              {columns.map((column) => {
                const value = valueAt(row, column.key);
                return (
                  <td key={column.key} data-label={column.label}>
                    {column.format === 'status' ? (
                      <StatusBadge value={value} />
                    ) : (
                      formatValue(value, column.format)
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function TableView({
  title,
  endpoint,
  columns,
  rowsPath,
  refreshMs,
}: {
  title?: string;
  endpoint: string;
  columns: UIColumn[];
  rowsPath?: string;
  refreshMs?: number;
}) {
  const resource = useResource(endpoint, refreshMs);
  return (
    <ViewFrame title={title}>
      <ResourceState resource={resource}>
        {(data) => {
          const rows = valueAt(data, rowsPath);
          return <Table rows={Array.isArray(rows) ? rows : []} columns={columns} caption={title} />;
        }}
      </ResourceState>
    </ViewFrame>
  );
}
