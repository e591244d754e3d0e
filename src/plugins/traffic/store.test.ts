import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatabasePlugin } from '../database/index.js';
import {
  TARGETS,
  startApp,
  uniqueName,
  type Sandbox,
  type Started,
} from '../database/test-support/targets.js';
import { DatabaseStore } from './db-store.js';
import { initialServiceState, type ServiceState } from './state.js';
import { FileStore } from './store.js';
import { api, freePorts, startTrafficGateway, waitForService } from './test-support/gateway.js';

function sampleState(service: string, version: string): ServiceState {
  const state = initialServiceState(service, ['slot-a', 'slot-b'], 1_700_000_000_000);
  state.slots[0] = { ...state.slots[0], state: 'active', version, target: 'http://127.0.0.1:3100' };
  state.slots[1] = {
    ...state.slots[1],
    state: 'previous',
    version: 'v0',
    target: 'http://127.0.0.1:3102',
    stopAt: 1_700_000_900_000,
  };
  state.history.push({
    at: 1_700_000_000_000,
    service,
    slot: 'slot-a',
    version,
    from: 'candidate',
    to: 'active',
    actor: 'ops',
    reason: 'promoted on request',
  });
  return state;
}

describe('file store', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'traffic-store-'));
  });
  afterEach(() => rm(directory, { recursive: true, force: true }));

  it('round-trips every service, keeps the file private and leaves no temporary files', async () => {
    const file = path.join(directory, 'nested', 'state.json');
    const store = new FileStore(file);
    expect(await store.load()).toEqual(new Map());
    await store.save(sampleState('api', 'v2'));
    await store.save(sampleState('web', 'v7'));
    const loaded = await new FileStore(file).load();
    expect(loaded.get('api')).toEqual(sampleState('api', 'v2'));
    expect(loaded.get('web')?.slots[0].version).toBe('v7');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(path.dirname(file))).toEqual(['state.json']);
  });

  it('never exposes a partial document while saves overlap, and keeps the last one', async () => {
    const file = path.join(directory, 'state.json');
    const store = new FileStore(file);
    await store.save(sampleState('api', 'v0'));
    let reads = 0;
    let reading = true;
    const reader = (async () => {
      while (reading) {
        JSON.parse(await readFile(file, 'utf8')); // throws on a torn write
        reads++;
      }
    })();
    await Promise.all(
      Array.from({ length: 40 }, (_, index) => store.save(sampleState('api', `v${index + 1}`))),
    );
    reading = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect((await new FileStore(file).load()).get('api')?.slots[0].version).toBe('v40');
    expect(await readdir(directory)).toEqual(['state.json']);
  });

  it('refuses a damaged file with a message naming it and what to do', async () => {
    const file = path.join(directory, 'state.json');
    await writeFile(file, '{"format":1,"services":{"api":');
    await expect(new FileStore(file).load()).rejects.toThrow(`${file} is not valid JSON`);
    await writeFile(file, '{"format":1,"services":{"api":{"slots":"nope"}}}');
    await expect(new FileStore(file).load()).rejects.toThrow(
      `${file}: the state of "api" is malformed.`,
    );
  });
});

for (const target of TARGETS) {
  describe.skipIf(!target.available)(`database store on ${target.provider}`, () => {
    let sandbox: Sandbox;
    let started: Started;
    afterAll(async () => {
      await started?.app.stop();
      await sandbox?.cleanup();
    });

    it('creates its table once, upserts whole states and loads them back', async () => {
      sandbox = await target.sandbox();
      started = await startApp(sandbox.options);
      const table = uniqueName('traffic');
      const store = new DatabaseStore(started.db, table);
      await store.open();
      await store.open();
      expect(await store.load()).toEqual(new Map());
      await store.save(sampleState('api', 'v1'));
      await store.save(sampleState('api', 'v2'));
      await store.save(sampleState('web', 'v7'));
      const reopened = new DatabaseStore(started.db, table);
      const loaded = await reopened.load();
      expect([...loaded.keys()].sort()).toEqual(['api', 'web']);
      expect(loaded.get('api')).toEqual(sampleState('api', 'v2'));
      expect(store.description).toBe(`database table ${table} (${target.provider})`);
    });
  });
}

describe('traffic with the database plugin', () => {
  it('keeps its state in a table and restores it on restart', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'traffic-db-'));
    const ports = await freePorts(2);
    const setup = {
      ports,
      statePath: path.join(directory, 'unused.json'),
      plugins: [createDatabasePlugin({ url: `sqlite:${path.join(directory, 'gateway.db')}` })],
      traffic: { store: { type: 'auto' as const, table: 'traffic_state' } },
    };
    try {
      const first = await startTrafficGateway(setup);
      try {
        await api(first, 'POST', '/deploy', { version: 'v1' });
        await waitForService(first, (view) => view.active?.version === 'v1', 'v1 active');
        expect(
          first.logs.some(
            (line) =>
              line.msg === 'traffic ready' &&
              line.store === 'database table traffic_state (sqlite)',
          ),
        ).toBe(true);
      } finally {
        await first.stop();
      }
      expect(await readdir(directory)).not.toContain('unused.json');
      const second = await startTrafficGateway(setup);
      try {
        expect(second.traffic.service('api').active).toMatchObject({
          slot: 'slot-a',
          version: 'v1',
        });
        expect(second.traffic.history('api', 10).map((t) => t.to)).toEqual(['active', 'starting']);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
