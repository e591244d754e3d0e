import { useId, type ReactNode } from 'react';
import { statusTone } from '../format.js';

/** A view's frame: a labelled section, so screen readers can jump between views. */
export function ViewFrame({
  title,
  actions,
  children,
}: {
  title?: string;
  actions?: ReactNode;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <section className="view" aria-labelledby={title ? id : undefined}>
      {(title || actions) && (
        <header className="view-header">
          {title && <h2 id={id}>{title}</h2>}
          {actions && <div className="view-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

export function StatusBadge({ value, label }: { value: unknown; label?: string }) {
  return <span className={`badge tone-${statusTone(value)}`}>{label ?? String(value ?? '—')}</span>;
}

export function ErrorNote({ error }: { error: Error }) {
  return (
    <p className="note note-error" role="alert">
      {error.message}
    </p>
  );
}

export function Loading() {
  return (
    <p className="note" role="status">
      Loading…
    </p>
  );
}

/** Loading, error, or the children once data is there (stale data stays visible on error). */
export function ResourceState<T>({
  resource,
  children,
}: {
  resource: { data?: T; error?: Error; loading: boolean };
  children: (data: T) => ReactNode;
}) {
  return (
    <>
      {resource.error && <ErrorNote error={resource.error} />}
      {resource.data === undefined ? (
        resource.loading ? (
          <Loading />
        ) : null
      ) : (
        children(resource.data)
      )}
    </>
  );
}
