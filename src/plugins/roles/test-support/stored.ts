import { createDatabasePlugin, type DatabaseOptions } from '../../database/index.js';
import { createRolesPlugin } from '../index.js';
import type { RolesOptions } from '../options.js';
import { EDITORIAL, startApp, type StartedApp } from './roles-app.js';
import type { AppOptions } from '../../../index.js';

/** An app with the database plugin and the roles plugin storing roles in it. */
export function startStored(
  database: DatabaseOptions,
  roles: RolesOptions = {},
  extra: NonNullable<AppOptions['plugins']> = [],
): Promise<StartedApp> {
  return startApp([
    createDatabasePlugin(database),
    createRolesPlugin({ ...EDITORIAL, storage: 'database', ...roles }),
    ...extra,
  ]);
}

/** A JSON request; the status, content type and parsed body. */
export async function send(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}
