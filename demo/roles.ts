import type { RolesOptions } from '../src/plugins/roles/index.js';

/**
 * The demo's roles, the same on the gateway (the Roles page and its "why" view, the Users API's
 * permissions) and on the API service (which checks `write:content` itself): an editor may write
 * content, a viewer may only read. Users get roles from their provider's roles claim (the
 * development stand-in gives alice `editor` and bob `viewer`).
 */
export const DEMO_ROLES = {
  permissions: {
    admin: ['*'],
    editor: ['write:content'],
    viewer: ['read:*'],
  },
  roles: {
    admin: { description: 'Everything' },
    editor: { inherits: ['viewer'], description: 'Reads everything and writes content' },
    viewer: { description: 'Reads everything, writes nothing' },
  },
} satisfies RolesOptions;
