import { randomBytes } from 'node:crypto';

/** The keys every gateway of the demo must agree on, when they are not set in the environment. */
export interface DemoSecrets {
  /** Signs the identity a gateway forwards; the service slots trust only this key. */
  forwardSecret: string;
  /** Opens the slots' management routes. */
  managementToken: string;
}

/**
 * Several demo gateways on one PostgreSQL database route to the same service slots, which were
 * started by one of them with its keys. Keys left to chance (random per run) would differ from
 * gateway to gateway, so the first gateway makes them and keeps them in a table; the others
 * read them there. Whoever can read that database can read them: it holds the traffic state and
 * the queued commands too, so it is trusted as much already.
 */
export async function sharedDemoSecrets(databaseUrl: string): Promise<DemoSecrets> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    // Gateways starting together take turns: CREATE TABLE IF NOT EXISTS races otherwise.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('demo_gateway_secrets'))");
    await client.query(
      'CREATE TABLE IF NOT EXISTS demo_gateway_secrets (name VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)',
    );
    for (const name of ['forward_secret', 'management_token'])
      await client.query(
        'INSERT INTO demo_gateway_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
        [name, randomBytes(32).toString('base64url')],
      );
    const { rows } = await client.query<{ name: string; value: string }>(
      'SELECT name, value FROM demo_gateway_secrets',
    );
    await client.query('COMMIT');
    const value = (name: string) => rows.find((row) => row.name === name)!.value;
    return { forwardSecret: value('forward_secret'), managementToken: value('management_token') };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}
