import { useEffect, useId, useRef, useState } from 'react';
import { getJson, openEventStream } from '../api.js';
import { formatDuration } from '../format.js';
import { ErrorNote, ViewFrame } from './common.js';

type LogEntry = Record<string, unknown> & {
  level?: string | number;
  time?: string | number;
  msg?: string;
};
interface Filters {
  level: string;
  q: string;
  requestId: string;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const NUMERIC_LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
/** Lines kept on screen; older ones drop off the bottom. */
const MAX_ENTRIES = 500;
const INITIAL_PAGE = 100;

const levelOf = (entry: LogEntry) =>
  typeof entry.level === 'number'
    ? (NUMERIC_LEVELS[entry.level] ?? String(entry.level))
    : String(entry.level ?? 'info');

function query(filters: Filters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams(extra);
  if (filters.level) params.set('level', filters.level);
  if (filters.q) params.set('q', filters.q);
  if (filters.requestId) params.set('requestId', filters.requestId);
  const text = params.toString();
  return text ? `?${text}` : '';
}

function summary(entry: LogEntry): string {
  const req = entry.req as { method?: string; url?: string } | undefined;
  const res = entry.res as { statusCode?: number } | undefined;
  const parts = [
    req?.method,
    req?.url,
    res?.statusCode,
    typeof entry.responseTime === 'number' ? formatDuration(entry.responseTime) : undefined,
  ];
  return parts.filter((part) => part !== undefined).join(' ');
}

function LogLine({ entry }: { entry: LogEntry }) {
  const level = levelOf(entry);
  const time = entry.time === undefined ? '' : new Date(entry.time).toLocaleTimeString();
  return (
    <li className={`log-line level-${level}`}>
      <details>
        <summary>
          <time className="log-time">{time}</time>
          <span className={`log-level level-${level}`}>{level}</span>
          <span className="log-msg">{entry.msg ?? ''}</span>
          <span className="log-extra">{summary(entry)}</span>
        </summary>
        <pre className="json">{JSON.stringify(entry, null, 2)}</pre>
      </details>
    </li>
  );
}

/** Recent lines from `endpoint`, then new ones live from `streamEndpoint` (SSE); pause holds them back. */
export function LogStreamView({
  title,
  endpoint,
  streamEndpoint,
}: {
  title?: string;
  endpoint: string;
  streamEndpoint: string;
}) {
  const id = useId();
  const [draft, setDraft] = useState<Filters>({ level: '', q: '', requestId: '' });
  const [filters, setFilters] = useState<Filters>(draft);
  const [entries, setEntries] = useState<LogEntry[]>([]);
  const [held, setHeld] = useState<LogEntry[]>([]);
  const [paused, setPaused] = useState(false);
  const [state, setState] = useState<'connecting' | 'open' | 'reconnecting' | 'closed'>(
    'connecting',
  );
  const [error, setError] = useState<Error>();
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    let cancelled = false;
    setEntries([]);
    setHeld([]);
    setError(undefined);
    setState('connecting');
    getJson<{ entries: LogEntry[] }>(
      `${endpoint}${query(filters, { limit: String(INITIAL_PAGE) })}`,
    )
      .then(
        (page) =>
          !cancelled && setEntries((live) => [...live, ...page.entries].slice(0, MAX_ENTRIES)),
      )
      .catch((failure: Error) => !cancelled && setError(failure));
    const stream = openEventStream(`${streamEndpoint}${query(filters)}`, {
      onState: (next) => !cancelled && setState(next),
      onEvent: (data, event) => {
        if (cancelled || event !== 'message') return;
        let entry: LogEntry;
        try {
          entry = JSON.parse(data) as LogEntry;
        } catch {
          return;
        }
        if (pausedRef.current) setHeld((list) => [entry, ...list].slice(0, MAX_ENTRIES));
        else setEntries((list) => [entry, ...list].slice(0, MAX_ENTRIES));
      },
    });
    return () => {
      cancelled = true;
      stream.stop();
    };
  }, [endpoint, streamEndpoint, filters]);

  const resume = () => {
    setEntries((list) => [...held, ...list].slice(0, MAX_ENTRIES));
    setHeld([]);
    setPaused(false);
  };

  const status = paused
    ? `Paused, ${held.length} new`
    : state === 'open'
      ? 'Live'
      : state === 'reconnecting'
        ? 'Reconnecting…'
        : state === 'closed'
          ? 'Stopped'
          : 'Connecting…';
  const controls = (
    <>
      <span
        className={`badge tone-${paused ? 'warn' : state === 'open' ? 'good' : 'neutral'}`}
        role="status"
        aria-live="polite"
      >
        {status}
      </span>
      <button
        type="button"
        className="button"
        aria-pressed={paused}
        onClick={() => (paused ? resume() : setPaused(true))}
      >
        {paused ? 'Resume' : 'Pause'}
      </button>
      <button type="button" className="button" onClick={() => setEntries([])}>
        Clear
      </button>
    </>
  );

  return (
    <ViewFrame title={title ?? 'Logs'} actions={controls}>
      <form
        className="filters"
        aria-label="Log filters"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters(draft);
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-level`}>Level at least</label>
          <select
            id={`${id}-level`}
            value={draft.level}
            onChange={(event) => setDraft({ ...draft, level: event.target.value })}
          >
            <option value="">any</option>
            {LEVELS.map((level) => (
              <option key={level} value={level}>
                {level}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-q`}>Text</label>
          <input
            id={`${id}-q`}
            type="search"
            value={draft.q}
            maxLength={1000}
            onChange={(event) => setDraft({ ...draft, q: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-rid`}>Request id</label>
          <input
            id={`${id}-rid`}
            type="text"
            value={draft.requestId}
            maxLength={128}
            onChange={(event) => setDraft({ ...draft, requestId: event.target.value.trim() })}
          />
        </div>
        <button type="submit" className="button button-primary">
          Apply filters
        </button>
      </form>
      {error && <ErrorNote error={error} />}
      {entries.length === 0 ? (
        <p className="note">No log lines yet.</p>
      ) : (
        <ol className="log-lines" aria-label="Log lines, newest first">
          {entries.map((entry, index) => (
            <LogLine key={`${String(entry.time)}-${entries.length - index}`} entry={entry} />
          ))}
        </ol>
      )}
    </ViewFrame>
  );
}
