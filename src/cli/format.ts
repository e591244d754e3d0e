import type { ServiceView, SlotView, TransitionView } from '../plugins/traffic/index.js';

const ANSI: Record<SlotView['colour'], string> = { green: '\x1b[32m', yellow: '\x1b[33m', red: '\x1b[31m', grey: '\x1b[90m' };
const RESET = '\x1b[0m';

/** Colours only for a terminal, and never when NO_COLOR is set. */
export function useColour(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR;
}

const time = (iso: string | undefined) => (iso ? new Date(iso).toLocaleTimeString('en-GB', { hour12: false }) : '');

/** Aligned columns; `paint` may colour a cell after it was padded, so colour never skews widths. */
function table(rows: string[][], paint: (row: number, column: number, cell: string) => string = (_row, _column, cell) => cell): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row, index) => row.map((cell, column) => paint(index, column, cell.padEnd(widths[column]))).join('  ').trimEnd());
}

function health(slot: SlotView): string {
  if (slot.state === 'stopped') return slot.asleep ? 'asleep' : '';
  if (slot.state === 'failed') return slot.message ?? '';
  if (slot.failing > 0) return `${slot.failing} failing${slot.message ? `: ${slot.message}` : ''}`;
  return `${slot.passing} passing${slot.state === 'candidate' ? (slot.eligible ? ', promotable' : `, promotable from ${time(slot.eligibleAt)}`) : ''}`;
}

export function formatService(view: ServiceView, colour: boolean): string {
  const lines = [`${view.name}${view.dev ? ' (dev)' : ''}  route ${view.route}`];
  lines.push(view.active ? `  active    ${view.active.slot} ${view.active.version ?? ''}  ${view.active.target ?? ''}` : '  active    none');
  if (view.rollback) lines.push(`  rollback  ${view.rollback.slot} ${view.rollback.version ?? ''}  until ${time(view.rollback.until)}`);
  const rows = [['SLOT', 'STATE', 'VERSION', 'TARGET', 'HEALTH']];
  for (const slot of view.slots) rows.push([slot.id, `● ${slot.state}`, slot.version ?? '', slot.target ?? '', health(slot)]);
  const paint = (row: number, column: number, cell: string) => (colour && row > 0 && column === 1 ? `${ANSI[view.slots[row - 1].colour]}${cell}${RESET}` : cell);
  lines.push(...table(rows, paint).map((line) => `  ${line}`));
  return lines.join('\n');
}

export function formatHistory(transitions: TransitionView[]): string {
  if (transitions.length === 0) return 'No transitions recorded.';
  const rows = [['TIME', 'SERVICE', 'SLOT', 'VERSION', 'CHANGE', 'BY', 'REASON']];
  for (const t of transitions) rows.push([t.at, t.service, t.slot, t.version ?? '', `${t.from} -> ${t.to}`, t.actor, t.reason]);
  return table(rows).join('\n');
}

/** One line about a service after a command. */
export function summary(view: ServiceView): string {
  const active = view.active ? `${view.active.slot} (${view.active.version}) is active` : 'nothing is active';
  const rollback = view.rollback ? `; ${view.rollback.slot} (${view.rollback.version}) is warm for rollback until ${time(view.rollback.until)}` : '';
  return `${view.name}: ${active}${rollback}`;
}

/** What a deploy waiting for health shows when its slot changes. */
export function progressLine(slot: SlotView): string {
  if (slot.state === 'starting') return `${slot.id}: starting ${slot.version}${slot.target ? ` at ${slot.target}` : ''}${slot.failing > 0 ? ' (waiting for its health endpoint)' : ''}`;
  if (slot.state === 'candidate') return `${slot.id}: healthy, ${slot.passing}/${slot.requiredChecks} checks${slot.eligible ? ', promotable' : `, promotable from ${time(slot.eligibleAt)}`}`;
  return `${slot.id}: ${slot.state}${slot.message ? ` (${slot.message})` : ''}`;
}
