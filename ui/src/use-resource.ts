import { useCallback, useEffect, useState } from 'react';
import { getJson } from './api.js';

export interface Resource<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

/** GETs an endpoint, again every `refreshMs` when given; keeps the last data while refreshing. */
export function useResource<T = unknown>(endpoint: string, refreshMs?: number): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const data = await getJson<T>(endpoint);
        if (!cancelled) setState({ data, loading: false });
      } catch (error) {
        if (!cancelled)
          setState((previous) => ({ data: previous.data, error: error as Error, loading: false }));
      }
      if (!cancelled && refreshMs) timer = setTimeout(() => void load(), refreshMs);
    };
    void load();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [endpoint, refreshMs, tick]);
  const reload = useCallback(() => setTick((value) => value + 1), []);
  return { ...state, reload };
}
