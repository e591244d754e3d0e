import { definePlugin, type ServerPlugin } from '../src/index.js';

/** The demo product's own API: one small JSON endpoint. */
export function createHelloPlugin(version: string): ServerPlugin {
  return definePlugin({
    name: 'hello',
    version,
    routes: [
      {
        method: 'get',
        path: '/api/v1/hello',
        description: 'A greeting from the demo service',
        handler: (req, res) => {
          const name =
            typeof req.query.name === 'string' && req.query.name.length <= 64
              ? req.query.name
              : 'world';
          res.json({ message: `Hello, ${name}!`, version, service: req.context.name });
        },
      },
    ],
  });
}
