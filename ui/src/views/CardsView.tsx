import { useId, useState } from 'react';
import type { UICardAction, UICardColour, UIField } from '../../../src/core/ui.js';
import { send } from '../api.js';
import { fillIn, text, valueAt } from '../format.js';
import { useResource } from '../use-resource.js';
import { ResourceState, ViewFrame } from './common.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { KeyValueList } from './KeyValueView.js';

const COLOURS: readonly UICardColour[] = ['green', 'yellow', 'red', 'grey'];

/** An unknown colour reads as grey (off), never as green. */
export function cardColour(value: unknown): UICardColour {
  return COLOURS.includes(value as UICardColour) ? (value as UICardColour) : 'grey';
}

function fillBody(body: unknown, item: unknown): unknown {
  if (typeof body === 'string') return fillIn(body, item);
  if (Array.isArray(body)) return body.map((value) => fillBody(value, item));
  if (body !== null && typeof body === 'object')
    return Object.fromEntries(
      Object.entries(body).map(([key, value]) => [key, fillBody(value, item)]),
    );
  return body;
}

/** The action as it applies to one item, or undefined when it does not apply. */
function forItem(action: UICardAction, item: unknown): UICardAction | undefined {
  if (action.when && !action.when.in.includes(valueAt(item, action.when.key) as string))
    return undefined;
  return {
    ...action,
    endpoint: fillIn(action.endpoint, item, true),
    body: fillBody(action.body, item),
    confirm: action.confirm && fillIn(action.confirm, item),
  };
}

function Card({
  item,
  titleKey,
  colourKey,
  badgeKey,
  fields,
  actions,
  busy,
  onAction,
}: {
  item: unknown;
  titleKey: string;
  colourKey: string;
  badgeKey?: string;
  fields: UIField[];
  actions: UICardAction[];
  busy: boolean;
  onAction: (action: UICardAction, title: string) => void;
}) {
  const id = useId();
  const colour = cardColour(valueAt(item, colourKey));
  const title = text(valueAt(item, titleKey)) || '—';
  const word = badgeKey ? text(valueAt(item, badgeKey)) : '';
  const own = actions
    .map((action) => forItem(action, item))
    .filter((action): action is UICardAction => action !== undefined);
  return (
    <li className={`card card-${colour}`} aria-labelledby={id} data-colour={colour}>
      <div className="card-head">
        <h3 id={id}>{title}</h3>
        <span className={`badge card-badge colour-${colour}`}>
          {word ? `${word} · ${colour}` : colour}
        </span>
      </div>
      <KeyValueList data={item} fields={fields} />
      {own.length > 0 && (
        <div className="button-row">
          {own.map((action) => (
            <button
              key={action.label}
              type="button"
              className={action.destructive ? 'button button-danger' : 'button button-primary'}
              disabled={busy}
              aria-label={`${action.label} ${title}`}
              onClick={() => onAction(action, title)}
            >
              {action.label}
            </button>
          ))}
        </div>
      )}
    </li>
  );
}

/** One coloured card per item, with per-card actions (confirmed when asked or destructive). */
export function CardsView({
  title,
  endpoint,
  itemsPath,
  titleKey,
  colourKey,
  badgeKey,
  fields,
  refreshMs,
  actions = [],
}: {
  title?: string;
  endpoint: string;
  itemsPath?: string;
  titleKey: string;
  colourKey: string;
  badgeKey?: string;
  fields: UIField[];
  refreshMs?: number;
  actions?: UICardAction[];
}) {
  const resource = useResource(endpoint, refreshMs);
  const [asking, setAsking] = useState<{ action: UICardAction; label: string }>();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();

  const run = async (action: UICardAction, label: string) => {
    setAsking(undefined);
    setBusy(true);
    setOutcome(undefined);
    try {
      await send(action.endpoint, action.method ?? 'POST', action.body);
      setOutcome({ ok: true, text: `${label}: done.` });
    } catch (error) {
      setOutcome({ ok: false, text: `${label} failed: ${(error as Error).message}` });
    } finally {
      setBusy(false);
      resource.reload();
    }
  };
  const onAction = (action: UICardAction, cardTitle: string) => {
    const label = `${action.label} ${cardTitle}`;
    if (action.destructive || action.confirm) setAsking({ action, label });
    else void run(action, label);
  };

  return (
    <ViewFrame title={title}>
      <ResourceState resource={resource}>
        {(data) => {
          const items = valueAt(data, itemsPath);
          if (!Array.isArray(items) || items.length === 0)
            return <p className="note">Nothing to show.</p>;
          return (
            <ul className="cards" aria-label={title ?? 'Cards'}>
              {items.map((item, index) => (
                <Card
                  key={`${text(valueAt(item, titleKey))}-${index}`}
                  item={item}
                  titleKey={titleKey}
                  colourKey={colourKey}
                  badgeKey={badgeKey}
                  fields={fields}
                  actions={actions}
                  busy={busy}
                  onAction={onAction}
                />
              ))}
            </ul>
          );
        }}
      </ResourceState>
      <div role="status" aria-live="polite">
        {outcome && (
          <p className={outcome.ok ? 'note note-ok' : 'note note-error'}>{outcome.text}</p>
        )}
      </div>
      {asking && (
        <ConfirmDialog
          question={asking.action.confirm ?? `${asking.label}?`}
          confirmLabel={asking.action.label}
          destructive={asking.action.destructive}
          onConfirm={() => void run(asking.action, asking.label)}
          onCancel={() => setAsking(undefined)}
        />
      )}
    </ViewFrame>
  );
}
