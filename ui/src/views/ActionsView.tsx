import { useState } from 'react';
import type { UIAction } from '../../../src/core/ui.js';
import { send } from '../api.js';
import { ViewFrame } from './common.js';
import { ConfirmDialog } from './ConfirmDialog.js';

type Outcome = { ok: true; text: string } | { ok: false; text: string };

function describe(result: unknown): string {
  if (result === undefined) return 'Done.';
  if (typeof result === 'string') return result;
  return `Done: ${JSON.stringify(result)}`;
}

export function ActionsView({ title, actions }: { title?: string; actions: UIAction[] }) {
  const [asking, setAsking] = useState<UIAction>();
  const [busy, setBusy] = useState<string>();
  const [outcome, setOutcome] = useState<Outcome>();

  const run = async (action: UIAction) => {
    setAsking(undefined);
    setBusy(action.label);
    setOutcome(undefined);
    try {
      const result = await send(action.endpoint, action.method ?? 'POST', action.body);
      setOutcome({ ok: true, text: `${action.label}: ${describe(result)}` });
    } catch (error) {
      setOutcome({ ok: false, text: `${action.label} failed: ${(error as Error).message}` });
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <ViewFrame title={title}>
      <div className="button-row">
        {actions.map((action) => (
          <button
            key={action.label}
            type="button"
            className={action.destructive ? 'button button-danger' : 'button button-primary'}
            disabled={busy !== undefined}
            onClick={() =>
              action.destructive || action.confirm ? setAsking(action) : void run(action)
            }
          >
            {busy === action.label ? `${action.label}…` : action.label}
          </button>
        ))}
      </div>
      <div role="status" aria-live="polite">
        {outcome && (
          <p className={outcome.ok ? 'note note-ok' : 'note note-error'}>{outcome.text}</p>
        )}
      </div>
      {asking && (
        <ConfirmDialog
          question={asking.confirm ?? `${asking.label}? This cannot be undone.`}
          confirmLabel={asking.label}
          destructive={asking.destructive}
          onConfirm={() => void run(asking)}
          onCancel={() => setAsking(undefined)}
        />
      )}
    </ViewFrame>
  );
}
