/**
 * One gateway replica in a process of its own, for the replica tests and the switch benchmark:
 * routing + traffic over the process orchestrator, its state shared through PostgreSQL.
 * Environment: DATABASE_URL, TRAFFIC_TABLE, SLOT_PORTS (comma-separated), PORT, and optionally
 * AUTO_PROMOTE=1 and COMMAND_TIMEOUT (ms). Every log line goes to stderr as NDJSON, then
 * `{ "msg": "replica ready", "url" }` once listening; it stops cleanly on SIGTERM.
 */
import { Writable } from 'node:stream';
import { createDatabasePlugin } from '../../database/index.js';
import { startTrafficGateway } from './gateway.js';

const env = process.env;
const gateway = await startTrafficGateway({
  port: Number(env.PORT ?? 0),
  ports: env.SLOT_PORTS!.split(',').map(Number),
  statePath: '/nonexistent/unused.json',
  plugins: [createDatabasePlugin({ url: env.DATABASE_URL! })],
  service: {
    autoPromote: env.AUTO_PROMOTE === '1',
    promotionDelay: 200,
    // The first release comes up by itself on the first gateway, as `npm start` does it.
    initialVersion: 'v1',
  },
  traffic: {
    store: { type: 'database', table: env.TRAFFIC_TABLE! },
    rollback: { window: 10 * 60_000 },
    replicas: { lockInterval: 200, commandTimeout: Number(env.COMMAND_TIMEOUT ?? 10_000) },
  },
});
// Lines the gateway logged so far, then every next one as it comes.
const sink = new Writable({
  write(chunk, _encoding, done) {
    process.stderr.write(chunk, done);
  },
});
for (const line of gateway.logs) sink.write(`${JSON.stringify(line)}\n`);
const push = gateway.logs.push.bind(gateway.logs);
gateway.logs.push = (...lines) => {
  for (const line of lines) sink.write(`${JSON.stringify(line)}\n`);
  return push(...lines);
};
// On the same stream as the logs, after them: whoever reads it has every line so far.
sink.write(`${JSON.stringify({ msg: 'replica ready', url: gateway.url })}\n`);
process.once('SIGTERM', () => {
  void gateway.stop().then(() => process.exit(0));
});
