import { expect } from 'vitest';

/** Creates an API key as the admin (`POST /api/keys`): its id and the key, shown only then. */
export async function createKey(
  gatewayUrl: string,
  adminToken: string,
  scopes: string[],
): Promise<{ id: string; key: string }> {
  const response = await fetch(`${gatewayUrl}/api/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `ci ${scopes.join(' ')}`, scopes }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; key: string };
}
