import { definePlugin, HttpError, type ServerPlugin } from '../src/index.js';
import { requireUser } from '../src/plugins/auth/index.js';
import { requirePermission } from '../src/plugins/roles/index.js';

/** One note of the demo's content. */
interface Note {
  text: string;
  author: string;
  at: string;
}

const KEY = 'demo:content';
const KEEP = 20;

/**
 * The demo's content, to show permissions at work: anyone signed in with `read:content` (a
 * viewer, an editor) reads it, only `write:content` (an editor) adds to it. A viewer's write is
 * refused with 403 `ROLES_PERMISSION_MISSING` naming the permission it lacks; the roles plugin's
 * explanation of why goes to the log and the Roles page, not to the caller. Notes live in the
 * cache (the last 20): enough for a demo, shared by the service's processes on Redis.
 */
export function createContentPlugin(): ServerPlugin {
  return definePlugin({
    name: 'demo-content',
    dependencies: ['auth', 'roles', 'cache'],
    routes: [
      {
        method: 'get',
        path: '/api/v1/content',
        description: 'The latest notes (read:content)',
        handler: [
          requireUser(),
          requirePermission('read:content'),
          async (req, res) => {
            const notes = (await req.context.services.get('cache').get<Note[]>(KEY)) ?? [];
            res.setHeader('cache-control', 'no-store');
            res.json({ notes });
          },
        ],
      },
      {
        method: 'post',
        path: '/api/v1/content',
        description: 'Adds a note (write:content): { text }',
        handler: [
          requireUser(),
          requirePermission('write:content'),
          async (req, res) => {
            // JSON only: a page of another site cannot send it without asking first (CORS).
            if (!req.is('application/json'))
              throw new HttpError(415, 'DEMO_CONTENT_JSON', 'Send the note as application/json.');
            const text: unknown = (req.body as { text?: unknown } | undefined)?.text;
            if (typeof text !== 'string' || text.trim() === '' || text.length > 500)
              throw new HttpError(
                400,
                'DEMO_CONTENT_TEXT',
                'text: a string of 1 to 500 characters.',
              );
            const cache = req.context.services.get('cache');
            const user = req.user!;
            const note: Note = {
              text: text.trim(),
              author: user.name ?? user.email ?? user.id,
              at: new Date().toISOString(),
            };
            const notes = [note, ...((await cache.get<Note[]>(KEY)) ?? [])].slice(0, KEEP);
            await cache.set(KEY, notes);
            res.status(201).json(note);
          },
        ],
      },
    ],
  });
}
