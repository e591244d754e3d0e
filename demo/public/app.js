const answer = document.getElementById('answer');
const who = document.getElementById('who');
const login = document.getElementById('login');
const passwordLogin = document.getElementById('password-login');
const logout = document.getElementById('logout');
const content = document.getElementById('content');
const write = document.getElementById('write');
const writeAnswer = document.getElementById('write-answer');
const notes = document.getElementById('notes');
let loginKind = 'none';

async function hello() {
  try {
    const response = await fetch('/api/v1/hello');
    answer.textContent = `${response.status}\n${JSON.stringify(await response.json(), null, 2)}`;
  } catch (error) {
    answer.textContent = String(error);
  }
}

/** Who is signed in, as the API service sees it (the gateway forwards the identity). */
async function showUser() {
  const response = await fetch('/api/v1/me', { cache: 'no-store' });
  const user = response.ok ? await response.json() : undefined;
  const roles = user?.roles?.length ? `, roles: ${user.roles.join(', ')}` : ', no roles';
  who.textContent = user
    ? `Signed in as ${user.name ?? user.email ?? user.id} (${user.id}${roles})`
    : loginKind === 'none'
      ? 'Nobody can sign in: no provider is configured.'
      : 'Not signed in.';
  login.hidden = Boolean(user) || loginKind !== 'redirect';
  passwordLogin.hidden = Boolean(user) || loginKind !== 'password';
  logout.hidden = !user;
  content.hidden = !user;
  if (user) await showNotes();
}

/** The latest notes, or why this user may not read them. */
async function showNotes() {
  const response = await fetch('/api/v1/content', { cache: 'no-store' });
  const body = await response.json();
  notes.replaceChildren();
  if (!response.ok) {
    notes.append(Object.assign(document.createElement('li'), { textContent: refusal(body) }));
    return;
  }
  for (const note of body.notes)
    notes.append(
      Object.assign(document.createElement('li'), { textContent: `${note.text} (${note.author})` }),
    );
}

/** A refusal as the API gives it: its code, what it says, and the permission missing. */
function refusal(problem) {
  return `Refused: ${problem.detail ?? problem.title} [${problem.code}]`;
}

async function showSignIn() {
  try {
    const info = await (await fetch('/demo/sign-in')).json();
    loginKind = info.login;
    document.getElementById('provider').textContent = info.label;
  } catch {
    document.getElementById('provider').textContent = 'unknown';
  }
  await showUser();
}

passwordLogin.addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(passwordLogin);
  const response = await fetch('/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: form.get('email'), password: form.get('password') }),
  });
  if (!response.ok) who.textContent = `Sign-in failed (${response.status}).`;
  else await showUser();
});

write.addEventListener('submit', async (event) => {
  event.preventDefault();
  const response = await fetch('/api/v1/content', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: new FormData(write).get('text') }),
  });
  const body = await response.json();
  writeAnswer.textContent = response.ok ? 'Written.' : refusal(body);
  if (response.ok) {
    write.reset();
    await showNotes();
  }
});

logout.addEventListener('click', async () => {
  // The session ends at the gateway; then the browser goes where the gateway says: the
  // provider's own logout (which comes back here), or this page.
  const response = await fetch('/auth/logout', {
    method: 'POST',
    headers: { accept: 'application/json' },
  });
  if (!response.ok) {
    who.textContent = `Sign-out failed (${response.status}).`;
    return;
  }
  const { location } = await response.json();
  window.location.assign(location);
});

document.getElementById('hello').addEventListener('click', hello);
if (window.location.pathname !== '/')
  answer.textContent = `Client-side route ${window.location.pathname}`;
else hello();
showSignIn();
