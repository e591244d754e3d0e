/**
 * The one rule for whether a held permission covers a required one, shared by the auth plugin's
 * guards (a caller's own permissions: a token's claims, an API key's scopes) and the roles
 * plugin's engines, so that no two guards disagree about what a grant allows.
 *
 * A permission is `action:resource`, split at the first colon (`traffic:deploy`), or `*` alone.
 * The resource is a path of colon-separated segments: `traffic:deploy:api` is the action
 * `traffic` on the resource `deploy:api`, the deploy of the service `api`.
 * - `*` as the whole action or the whole resource covers any (`traffic:*`, `*:logs`, `*`).
 * - A resource covers every resource beneath it: `traffic:deploy` covers `traffic:deploy:api`.
 * - `deploy:*` covers everything beneath `deploy` (`deploy:api`), but not `deploy` itself.
 * - A required permission is read literally: `traffic:*` asks for every traffic resource,
 *   which only `traffic:*` (or `*`, `*:*`) grants; `traffic:deploy:api` never covers `traffic:deploy`.
 *
 * Every function here compares characters in place: the hot path allocates nothing.
 */

/** Where the action ends (the first colon), or -1 when `permission` is not `action:resource`. */
function actionEnd(permission: string): number {
  const colon = permission.indexOf(':');
  return colon <= 0 || colon === permission.length - 1 ? -1 : colon;
}

/** Whether `a` from `aStart` and `b` from `bStart` agree on `length` characters. */
function sameRun(a: string, aStart: number, b: string, bStart: number, length: number): boolean {
  for (let index = 0; index < length; index++)
    if (a.charCodeAt(aStart + index) !== b.charCodeAt(bStart + index)) return false;
  return true;
}

/** Whether the part of `held` from `start` is exactly `*`. */
const isStar = (held: string, start: number) =>
  held.length === start + 1 && held.charCodeAt(start) === 42;

/** Whether the held action (before `heldColon`) covers the required one. */
function actionCovers(held: string, heldColon: number, required: string, colon: number): boolean {
  if (heldColon === 1 && held.charCodeAt(0) === 42) return true;
  return heldColon === colon && sameRun(held, 0, required, 0, colon);
}

/** Whether the held resource (after `heldColon`) covers the required one (after `colon`). */
function resourceCovers(held: string, heldColon: number, required: string, colon: number): boolean {
  const heldStart = heldColon + 1;
  const start = colon + 1;
  if (isStar(held, heldStart)) return true;
  const heldLength = held.length - heldStart;
  const length = required.length - start;
  if (length === heldLength && sameRun(held, heldStart, required, start, length)) return true;
  if (length < heldLength) return false;
  // `deploy:*` covers what starts with `deploy:`.
  if (held.charCodeAt(held.length - 1) === 42 && held.charCodeAt(held.length - 2) === 58)
    return sameRun(held, heldStart, required, start, heldLength - 1);
  // `deploy` covers what starts with `deploy:`.
  return (
    required.charCodeAt(start + heldLength) === 58 &&
    sameRun(held, heldStart, required, start, heldLength)
  );
}

/**
 * Whether the permission `held` covers `required` (see the rules above).
 * @example permissionCovers('traffic:deploy', 'traffic:deploy:api') // true
 */
export function permissionCovers(held: string, required: string): boolean {
  if (held === required) return actionEnd(required) !== -1 || required === '*';
  if (held === '*') return actionEnd(required) !== -1;
  const heldColon = actionEnd(held);
  if (heldColon === -1) return false;
  if (required === '*') return isStar(held, 0) || held === '*:*';
  const colon = actionEnd(required);
  if (colon === -1) return false;
  return (
    actionCovers(held, heldColon, required, colon) &&
    resourceCovers(held, heldColon, required, colon)
  );
}

/**
 * Whether one of `held` covers `required`.
 * @example holdsPermission(key.scopes, 'cache:flush')
 */
export function holdsPermission(held: readonly string[], required: string): boolean {
  for (let index = 0; index < held.length; index++)
    if (permissionCovers(held[index], required)) return true;
  return false;
}

/**
 * Whether `held` covers `required` or some part beneath it: `traffic:deploy:api` overlaps
 * `traffic:deploy`. An admin route whose permission is qualified by its body (the service
 * deployed) lets such a caller past its gate; the qualified permission is checked once the body
 * is read.
 */
export function permissionOverlaps(held: string, required: string): boolean {
  if (permissionCovers(held, required)) return true;
  const heldColon = actionEnd(held);
  const colon = actionEnd(required);
  if (heldColon === -1 || colon === -1) return false;
  return (
    actionCovers(held, heldColon, required, colon) &&
    resourceCovers(required, colon, held, heldColon)
  );
}

/** Whether one of `held` overlaps `required` (see `permissionOverlaps`). */
export function holdsPartOf(held: readonly string[], required: string): boolean {
  for (let index = 0; index < held.length; index++)
    if (permissionOverlaps(held[index], required)) return true;
  return false;
}

/**
 * The resources above a nested one, nearest first, as a grant on each would cover it:
 * `deploy:api:eu` gives `deploy:api:*`, `deploy:api`, `deploy:*`, `deploy`. A flat resource has
 * none. For engines that index grants by resource (the roles plugin), computed once per
 * permission and kept.
 */
export function resourceAncestors(resource: string): string[] {
  const ancestors: string[] = [];
  for (let end = resource.lastIndexOf(':'); end > 0; end = resource.lastIndexOf(':', end - 1)) {
    const parent = resource.slice(0, end);
    ancestors.push(`${parent}:*`, parent);
  }
  return ancestors;
}

/** A qualifier that names one thing (a service): no colon, no wildcard, not empty. */
const SEGMENT = /^[^:*\s]{1,128}$/;

/**
 * `permission` narrowed to one thing (`traffic:deploy` and `api` give `traffic:deploy:api`), or
 * `permission` itself when there is nothing to narrow it to or the qualifier is not one segment:
 * a caller then needs the whole permission.
 */
export function qualifyPermission(permission: string, qualifier: string | undefined): string {
  return qualifier !== undefined && SEGMENT.test(qualifier)
    ? `${permission}:${qualifier}`
    : permission;
}
