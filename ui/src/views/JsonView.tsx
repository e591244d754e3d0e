import { apiUrl } from '../api.js';
import { valueAt } from '../format.js';
import { useResource } from '../use-resource.js';
import { ResourceState, ViewFrame } from './common.js';

export function JsonView({
  title,
  endpoint,
  path,
  refreshMs,
  download,
}: {
  title?: string;
  endpoint: string;
  path?: string;
  refreshMs?: number;
  download?: string;
}) {
  const resource = useResource(endpoint, refreshMs);
  const actions = (
    <>
      <button type="button" className="button" onClick={resource.reload}>
        Refresh
      </button>
      {download && (
        <a className="button" href={apiUrl(download)} download>
          Download
        </a>
      )}
    </>
  );
  return (
    <ViewFrame title={title} actions={actions}>
      <ResourceState resource={resource}>
        {(data) => (
          <pre className="json" tabIndex={0} aria-label={title ? `${title} (JSON)` : 'JSON'}>
            {JSON.stringify(valueAt(data, path), null, 2)}
          </pre>
        )}
      </ResourceState>
    </ViewFrame>
  );
}
