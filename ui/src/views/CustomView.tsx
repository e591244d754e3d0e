import { useEffect, useRef, useState } from 'react';
import { apiUrl, getCsrfToken, getJson, isSameOrigin, send, settings } from '../api.js';
import { ErrorNote, ViewFrame } from './common.js';

/** What a custom page module receives; it owns the element until the cleanup it returns runs. */
export interface CustomPageContext {
  mountPath: string;
  csrfToken?: string;
  getJson: typeof getJson;
  send: typeof send;
}

type Mount = (
  element: HTMLElement,
  context: CustomPageContext,
) => void | (() => void) | Promise<void | (() => void)>;

/** Loads a prebuilt ES module from this origin (import()) and lets it render into a container. */
export function CustomView({ title, module }: { title?: string; module: string }) {
  const container = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<Error>();
  useEffect(() => {
    let cleanup: void | (() => void);
    let cancelled = false;
    if (!isSameOrigin(module)) {
      setError(new Error(`Refused to load ${module}: custom pages must come from this server.`));
      return;
    }
    import(/* @vite-ignore */ apiUrl(module))
      .then(async (loaded: { default?: Mount }) => {
        if (typeof loaded.default !== 'function')
          throw new Error(`${module} has no default export function mount(element, context).`);
        const result = await loaded.default(container.current!, {
          mountPath: settings().mountPath,
          csrfToken: getCsrfToken(),
          getJson,
          send,
        });
        if (cancelled) result?.();
        else cleanup = result;
      })
      .catch((failure: Error) => !cancelled && setError(failure));
    return () => {
      cancelled = true;
      cleanup?.();
    };
  }, [module]);
  return (
    <ViewFrame title={title}>
      {error && <ErrorNote error={error} />}
      <div ref={container} className="custom-view" />
    </ViewFrame>
  );
}
