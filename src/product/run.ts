import type { App } from '../core/app.js';
import { ConfigError } from '../core/errors.js';

/**
 * The body of a product's entry: creates the app, starts it and says where it listens. A bad
 * setting is printed as the one message naming each (no stack trace) and the exit code is 1.
 * @example await runApp(() => createService({ name: 'shop-api', plugins: [api] }))
 */
export async function runApp(create: () => App): Promise<App | undefined> {
  try {
    const app = create();
    await app.start();
    const panel = app.context.plugins().some((plugin) => plugin.name === 'control-panel')
      ? ' (control panel /cpanel)'
      : '';
    console.log(`${app.context.name} listening on ${app.context.url()}${panel}`);
    return app;
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exitCode = 1;
    return undefined;
  }
}
