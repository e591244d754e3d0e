import { useCallback, useEffect, useState } from 'react';

/** The page route inside the panel (`/logs`) for a location path under the mount path. */
export function routeOf(pathname: string, mountPath: string): string {
  if (!pathname.startsWith(mountPath)) return '/';
  const rest = pathname.slice(mountPath.length).replace(/\/+$/, '');
  return rest === '' ? '/' : rest;
}

/** A tiny history router: the current route and a navigate function that pushes state. */
export function useRoute(mountPath: string): [string, (route: string) => void] {
  const [route, setRoute] = useState(() => routeOf(window.location.pathname, mountPath));
  useEffect(() => {
    const onPop = () => setRoute(routeOf(window.location.pathname, mountPath));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, [mountPath]);
  const navigate = useCallback(
    (next: string) => {
      const target = `${mountPath}${next === '/' ? '/' : next}`;
      if (window.location.pathname !== target) window.history.pushState(null, '', target);
      setRoute(next);
    },
    [mountPath],
  );
  return [route, navigate];
}
