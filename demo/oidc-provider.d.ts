/* eslint-disable @typescript-eslint/no-explicit-any */
// oidc-provider ships no types; the test OP needs only its constructor, errors and memory adapter.
declare module 'oidc-provider' {
  const Provider: any;
  export default Provider;
  /** Koa's context with `oidc`; loosely typed here. */
  export type OpContext = any;
  export const errors: { InvalidTarget: new () => Error };
}

declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  export default class MemoryAdapter {
    constructor(model: string);
    readonly model: string;
    find(id: string): Promise<any>;
  }
}
