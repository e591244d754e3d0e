import { useId, useState, type FormEvent } from 'react';
import { send, setCsrfToken, type ApiError } from './api.js';

/** The password form of the built-in guard; other guards send the browser to their `loginUrl`. */
export function Login({
  title,
  mountPath,
  loginUrl,
  onLoggedIn,
}: {
  title: string;
  mountPath: string;
  loginUrl?: string;
  onLoggedIn: (user: string) => void;
}) {
  const id = useId();
  const [user, setUser] = useState('admin');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = (await send(`${mountPath}/api/login`, 'POST', { user, password })) as {
        user: string;
        csrfToken?: string;
      };
      setCsrfToken(session.csrfToken);
      onLoggedIn(session.user);
    } catch (failure) {
      const apiError = failure as ApiError;
      setError(
        apiError.status === 429
          ? `Too many failed attempts. Try again in ${apiError.retryAfter ?? 60} seconds.`
          : apiError.status === 401
            ? 'Wrong user name or password.'
            : apiError.message,
      );
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login" id="main">
      <form
        className="login-card"
        onSubmit={(event) => void onSubmit(event)}
        aria-labelledby={`${id}-title`}
      >
        <h1 id={`${id}-title`}>{title}</h1>
        {loginUrl ? (
          <a className="button button-primary" href={loginUrl}>
            Log in
          </a>
        ) : (
          <>
            <div className="field">
              <label htmlFor={`${id}-user`}>User name</label>
              <input
                id={`${id}-user`}
                name="username"
                autoComplete="username"
                required
                value={user}
                onChange={(event) => setUser(event.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor={`${id}-password`}>Password</label>
              <input
                id={`${id}-password`}
                name="password"
                type="password"
                autoComplete="current-password"
                required
                autoFocus
                value={password}
                onChange={(event) => setPassword(event.target.value)}
              />
            </div>
            <div role="alert" className="login-error">
              {error && <p className="note note-error">{error}</p>}
            </div>
            <button type="submit" className="button button-primary" disabled={busy}>
              {busy ? 'Logging in…' : 'Log in'}
            </button>
          </>
        )}
      </form>
    </main>
  );
}
