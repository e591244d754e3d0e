import type { AppContext } from './context.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The request id: a well-formed incoming `x-request-id`, or a generated one. */
      id: string;
      /** The app's context, so route handlers reach services without globals. */
      context: AppContext;
    }
  }
}

export {};
