import { HttpError } from '../../core/errors.js';

export const SORTS = ['createdAt', 'email', 'name'] as const;
export type UserSort = (typeof SORTS)[number];
export type SortOrder = 'asc' | 'desc';

/** Where a page ended: the last row's sort value and id, under the sort it was read with. */
export interface Cursor {
  sort: UserSort;
  order: SortOrder;
  value: string | number;
  id: string;
}

/**
 * Opaque to clients: base64url JSON. Not signed, because a forged cursor only moves where a page
 * starts within what the caller may list anyway; its shape is checked, and its sort must be the
 * request's, so a cursor never mixes two orders.
 */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.order, cursor.value, cursor.id])).toString(
    'base64url',
  );
}

export function decodeCursor(text: string, sort: UserSort, order: SortOrder): Cursor {
  const bad = (why: string) =>
    new HttpError(400, 'USERS_INVALID_QUERY', `cursor: ${why}; pass the nextCursor of a page`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor');
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw bad('not a cursor');
  const [cursorSort, cursorOrder, value, id] = parsed as unknown[];
  if (cursorSort !== sort || cursorOrder !== order)
    throw bad(`made for sort=${String(cursorSort)}&order=${String(cursorOrder)}`);
  const valueOk = sort === 'createdAt' ? Number.isSafeInteger(value) : typeof value === 'string';
  if (!valueOk || typeof id !== 'string' || id.length > 64) throw bad('not a cursor');
  return { sort, order, value: value as string | number, id };
}
