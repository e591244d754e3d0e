import { formatDuration, formatSeconds, formatValue } from '../format.js';
import { useResource } from '../use-resource.js';
import { ResourceState, StatusBadge, ViewFrame } from './common.js';

interface HistoryPoint {
  at: string;
  status: string;
  latencyMs: number;
}

interface CheckSnapshot {
  name: string;
  plugin?: string;
  critical: boolean;
  status: string;
  message?: string;
  latencyMs?: number;
  lastRun?: string;
  lastError?: string;
  lastErrorAt?: string;
  history: HistoryPoint[];
}

export interface HealthReport {
  status: string;
  phase?: string;
  ready?: boolean;
  uptimeSeconds?: number;
  checks: CheckSnapshot[];
}

const TONE_COLOURS: Record<string, string> = {
  healthy: 'var(--good)',
  degraded: 'var(--warn)',
  unhealthy: 'var(--bad)',
};

/** Latency of the last runs as bars, coloured by status; the label says the same in words. */
export function Sparkline({ history }: { history: HistoryPoint[] }) {
  if (history.length === 0) return null;
  const width = 120;
  const height = 28;
  const max = Math.max(...history.map((point) => point.latencyMs), 1);
  const bar = width / Math.max(history.length, 10);
  const failures = history.filter((point) => point.status !== 'healthy').length;
  const label = `Last ${history.length} runs: ${failures} not healthy, slowest ${formatDuration(max)}`;
  return (
    <svg
      className="sparkline"
      role="img"
      aria-label={label}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
    >
      {history.map((point, index) => {
        const h = Math.max(2, (point.latencyMs / max) * (height - 2));
        return (
          <rect
            key={point.at + index}
            x={index * bar + 0.5}
            y={height - h}
            width={Math.max(bar - 1.5, 1)}
            height={h}
            rx="1"
            fill={TONE_COLOURS[point.status] ?? 'var(--muted)'}
          />
        );
      })}
    </svg>
  );
}

export function HealthSummary({ report }: { report: HealthReport }) {
  return (
    <>
      <div className="health-overall">
        <StatusBadge value={report.status} label={`Overall: ${report.status}`} />
        {report.ready !== undefined && (
          <StatusBadge
            value={report.ready ? 'ready' : 'unavailable'}
            label={report.ready ? 'Ready' : 'Not ready'}
          />
        )}
        {report.phase && <span className="muted">Phase: {report.phase}</span>}
        {report.uptimeSeconds !== undefined && (
          <span className="muted">Up {formatSeconds(report.uptimeSeconds)}</span>
        )}
      </div>
      {report.checks.length === 0 ? (
        <p className="note">No health checks registered.</p>
      ) : (
        <ul className="checks">
          {report.checks.map((check) => (
            <li key={check.name} className="check">
              <div className="check-head">
                <strong>{check.name}</strong>
                <StatusBadge value={check.status} />
                {!check.critical && <span className="tag">informational</span>}
              </div>
              <div className="check-body">
                <span>
                  Latency {check.latencyMs === undefined ? '—' : formatDuration(check.latencyMs)}
                </span>
                <Sparkline history={check.history} />
              </div>
              {check.message && <p className="muted">{check.message}</p>}
              <p className="muted small">
                Last run {formatValue(check.lastRun, 'date')}
                {check.lastError &&
                  ` · last error ${formatValue(check.lastErrorAt, 'date')}: ${check.lastError}`}
              </p>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** Reads the cached health report; the server never runs checks for this request. */
export function HealthView({
  title,
  endpoint,
  refreshMs,
}: {
  title?: string;
  endpoint: string;
  refreshMs?: number;
}) {
  const resource = useResource<HealthReport>(endpoint, refreshMs ?? 5_000);
  return (
    <ViewFrame title={title}>
      <ResourceState resource={resource}>
        {(report) => <HealthSummary report={report} />}
      </ResourceState>
    </ViewFrame>
  );
}
