import net from 'node:net';

/** The real servers integration tests talk to (this machine runs them on their standard ports). */
export const SERVICES = {
  postgres: {
    host: '127.0.0.1',
    port: 5432,
    url: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  },
  mysql: {
    host: '127.0.0.1',
    port: 3306,
    url: process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
  },
  redis: {
    host: '127.0.0.1',
    port: 6379,
    url: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  },
} as const;

export type ServiceName = keyof typeof SERVICES;

function reachable(host: string, port: number, timeout = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeout, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * True when the server answers. When it does not: in CI (`CI=true`) this throws, so a missing
 * server fails the run; elsewhere it prints a loud warning and the caller skips its suite.
 * @example const hasRedis = await serviceAvailable('redis'); describe.skipIf(!hasRedis)(...)
 */
export async function serviceAvailable(name: ServiceName): Promise<boolean> {
  const { host, port } = SERVICES[name];
  if (await reachable(host, port)) return true;
  const message = `${name} is not reachable on ${host}:${port}`;
  if (process.env.CI) throw new Error(`${message}; CI requires it (.ci/run starts it).`);
  console.warn(`\n!!! SKIPPING ${name} integration tests: ${message}. Start it to run them. !!!\n`);
  return false;
}
