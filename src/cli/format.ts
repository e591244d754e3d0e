import type { ServiceView, SlotView, TransitionView } from '../plugins/traffic/index.js';

const ANSI: Record<SlotView['colour'], string> = {
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  red: '\x1b[31m',
  grey: '\x1b[90m',
};
const RESET = '\x1b[0m';

/** Colours only for a terminal, and never when NO_COLOR is set. */
export function useColour(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR;
}

const time = (iso: string | undefined) =>
  iso ? new Date(iso).toLocaleTimeString('en-GB', { hour12: false }) : '';

/** Aligned columns; `paint` may colour a cell after it was padded, so colour never skews widths. */
function table(
  rows: string[][],
  paint: (row: number, column: number, cell: string) => string = (_row, _column, cell) => cell,
): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row, index) =>
    row
      .map((cell, column) => paint(index, column, cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * A candidate's way to promotion: the consecutive passing checks counted up to the number
 * required (more only repeat it), and what is still awaited (checks, the promotion delay).
 */
export function candidateProgress(slot: SlotView, now: number = Date.now()): string {
  const checks = `${Math.min(slot.passing, slot.requiredChecks)}/${slot.requiredChecks} checks`;
  if (slot.eligible) return `${checks}, promotable`;
  const wait = slot.eligibleAt ? Math.ceil((Date.parse(slot.eligibleAt) - now) / 1000) : 0;
  return `${checks}, promotable ${wait > 0 ? `in ${wait} s` : 'shortly'}`;
}

function health(slot: SlotView): string {
  if (slot.state === 'stopped') return slot.asleep ? 'asleep' : '';
  if (slot.state === 'failed') return slot.message ?? '';
  if (slot.failing > 0) return `${slot.failing} failing${slot.message ? `: ${slot.message}` : ''}`;
  return slot.state === 'candidate' ? candidateProgress(slot) : `${slot.passing} passing`;
}

export function formatService(view: ServiceView, colour: boolean): string {
  const lines = [`${view.name}${view.dev ? ' (dev)' : ''}  route ${view.route}`];
  lines.push(
    view.active
      ? `  active    ${view.active.slot} ${view.active.version ?? ''}  ${view.active.target ?? ''}`
      : '  active    none',
  );
  if (view.rollback)
    lines.push(
      `  rollback  ${view.rollback.slot} ${view.rollback.version ?? ''}  until ${time(view.rollback.until)}`,
    );
  const rows = [['SLOT', 'STATE', 'VERSION', 'TARGET', 'HEALTH']];
  for (const slot of view.slots)
    rows.push([slot.id, `● ${slot.state}`, slot.version ?? '', slot.target ?? '', health(slot)]);
  const paint = (row: number, column: number, cell: string) =>
    colour && row > 0 && column === 1 ? `${ANSI[view.slots[row - 1].colour]}${cell}${RESET}` : cell;
  lines.push(...table(rows, paint).map((line) => `  ${line}`));
  return lines.join('\n');
}

export function formatHistory(transitions: TransitionView[]): string {
  if (transitions.length === 0) return 'No transitions recorded.';
  const rows = [['TIME', 'SERVICE', 'SLOT', 'VERSION', 'CHANGE', 'BY', 'REASON']];
  for (const t of transitions)
    rows.push([
      t.at,
      t.service,
      t.slot,
      t.version ?? '',
      `${t.from} -> ${t.to}`,
      t.actor,
      t.reason,
    ]);
  return table(rows).join('\n');
}

/** One line about a service after a command. */
export function summary(view: ServiceView): string {
  const active = view.active
    ? `${view.active.slot} (${view.active.version}) is active`
    : 'nothing is active';
  const rollback = view.rollback
    ? `; ${view.rollback.slot} (${view.rollback.version}) is warm for rollback until ${time(view.rollback.until)}`
    : '';
  return `${view.name}: ${active}${rollback}`;
}

/** What a deploy waiting for health shows when its slot changes (a countdown changes it each second). */
export function progressLine(slot: SlotView, now: number = Date.now()): string {
  // Passing checks while still starting: a first release, which becomes active by itself.
  if (slot.state === 'starting' && slot.passing > 0)
    return `${slot.id}: healthy, ${Math.min(slot.passing, slot.requiredChecks)}/${slot.requiredChecks} checks, active once all pass (first release)`;
  if (slot.state === 'starting')
    return `${slot.id}: starting ${slot.version}${slot.target ? ` at ${slot.target}` : ''}${slot.failing > 0 ? ' (waiting for its health endpoint)' : ''}`;
  if (slot.state === 'candidate' && slot.failing > 0)
    return `${slot.id}: ${slot.failing} failing check${slot.failing === 1 ? '' : 's'}${slot.message ? ` (${slot.message})` : ''}, the count starts again`;
  if (slot.state === 'candidate') return `${slot.id}: healthy, ${candidateProgress(slot, now)}`;
  return `${slot.id}: ${slot.state}${slot.message ? ` (${slot.message})` : ''}`;
}
