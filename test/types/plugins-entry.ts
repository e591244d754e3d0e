/**
 * Compiled on its own by `npm run typecheck` (test/types/tsconfig.json): a product that imports
 * only `@qwickapps/server/plugins` must see the request augmentation (`req.id`, `req.context`)
 * in its route handlers, without also importing `@qwickapps/server`.
 */
import type { createHealthPlugin } from '../../src/plugins/index.js';

type Plugin = ReturnType<typeof createHealthPlugin>;

export const whoAmI: Plugin = {
  name: 'who-am-i',
  routes: [
    {
      method: 'get',
      path: '/api/who-am-i',
      handler: (req, res) => {
        const requestId: string = req.id;
        res.json({ requestId, ready: req.context.isReady(), app: req.context.name });
      },
    },
  ],
};
