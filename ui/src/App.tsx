import { useCallback, useEffect, useState } from 'react';
import { ApiError, getJson, onUnauthorised, send, setCsrfToken, settings } from './api.js';
import { Login } from './Login.js';
import { Shell } from './Shell.js';
import type { PanelDescription } from './types.js';

type State =
  | { phase: 'loading' }
  | { phase: 'login' }
  | { phase: 'ready'; panel: PanelDescription }
  | { phase: 'error'; message: string };

export function App() {
  const config = settings();
  const [state, setState] = useState<State>({ phase: 'loading' });

  const load = useCallback(async () => {
    try {
      const session = await getJson<{ user: string; csrfToken?: string }>(
        `${config.mountPath}/api/session`,
      );
      setCsrfToken(session.csrfToken);
      const panel = await getJson<PanelDescription>(`${config.mountPath}/api/ui`);
      setState({ phase: 'ready', panel });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) setState({ phase: 'login' });
      else setState({ phase: 'error', message: (error as Error).message });
    }
  }, [config.mountPath]);

  useEffect(() => {
    void load();
    return onUnauthorised(() => {
      setCsrfToken(undefined);
      setState({ phase: 'login' });
    });
  }, [load]);

  useEffect(() => {
    document.documentElement.style.setProperty('--accent', config.branding.accentColor);
  }, [config.branding.accentColor]);

  const logout = async () => {
    try {
      await send(`${config.mountPath}/api/logout`, 'POST');
    } catch {}
    setCsrfToken(undefined);
    setState({ phase: 'login' });
  };

  switch (state.phase) {
    case 'loading':
      return (
        <p className="note centred" role="status">
          Loading…
        </p>
      );
    case 'login':
      return (
        <Login
          title={config.branding.title}
          mountPath={config.mountPath}
          loginUrl={config.loginUrl}
          onLoggedIn={() => void load()}
        />
      );
    case 'error':
      return (
        <main className="login">
          <div className="login-card" role="alert">
            <h1>The control panel could not load</h1>
            <p>{state.message}</p>
            <button type="button" className="button button-primary" onClick={() => void load()}>
              Try again
            </button>
          </div>
        </main>
      );
    default:
      return (
        <Shell panel={state.panel} mountPath={config.mountPath} onLogout={() => void logout()} />
      );
  }
}
