// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formView, type UIView } from '../../../src/core/ui.js';
import { setCsrfToken } from '../api.js';
import { formSchema, startViewServer, type Seen } from './test-server.js';
import { layersOf } from './GraphView.js';
import { View } from './View.js';

let server: Awaited<ReturnType<typeof startViewServer>>;
let seen: Seen;

beforeAll(async () => {
  server = await startViewServer();
  seen = server.seen;
  // The views resolve endpoints against the document base, as in the served index.html.
  const base = document.createElement('base');
  base.href = `${server.base}/cpanel/`;
  document.head.append(base);
});
afterEach(() => {
  cleanup();
  setCsrfToken(undefined);
});
afterAll(async () => {
  await server.app.stop();
});

const show = (view: UIView) => render(<View view={view} />);

describe('view kinds rendered from descriptors', () => {
  it('table: columns from the descriptor, rows from rowsPath, values formatted, nested keys', async () => {
    show({
      kind: 'table',
      title: 'Things',
      endpoint: '/api/rows',
      rowsPath: 'items',
      columns: [
        { key: 'name', label: 'Name' },
        { key: 'size', label: 'Size', format: 'bytes' },
        { key: 'state', label: 'State', format: 'status' },
        { key: 'pool.idle', label: 'Idle', format: 'number' },
      ],
    });
    const table = await screen.findByRole('table');
    expect(
      within(table)
        .getAllByRole('columnheader')
        .map((cell) => cell.textContent),
    ).toEqual(['Name', 'Size', 'State', 'Idle']);
    const rows = within(table)
      .getAllByRole('row')
      .slice(1)
      .map((row) =>
        within(row)
          .getAllByRole('cell')
          .map((cell) => cell.textContent),
      );
    expect(rows).toEqual([
      ['alpha', '2.0 KiB', 'healthy', '3'],
      ['beta', '5 B', 'failed', '0'],
    ]);
    expect(within(table).getByText('failed').className).toContain('tone-bad');
    expect(screen.getByRole('heading', { name: 'Things' })).toBeTruthy();
  });

  it('keyValue: chosen fields with formats, or every value flattened', async () => {
    show({
      kind: 'keyValue',
      endpoint: '/api/facts',
      fields: [
        { path: 'memory.rss', label: 'RSS', format: 'bytes' },
        { path: 'uptime', label: 'Up', format: 'seconds' },
        { path: 'ratio', label: 'Ratio', format: 'percent' },
        { path: 'absent', label: 'Absent' },
      ],
    });
    await screen.findByText('3.0 MiB');
    const pairs = [...document.querySelectorAll('.key-value')].map((pair) => [
      pair.querySelector('dt')!.textContent,
      pair.querySelector('dd')!.textContent,
    ]);
    expect(pairs).toEqual([
      ['RSS', '3.0 MiB'],
      ['Up', '1h 2m'],
      ['Ratio', '25.0 %'],
      ['Absent', '—'],
    ]);
    cleanup();
    show({ kind: 'keyValue', endpoint: '/api/facts' });
    await screen.findByText('nested.deep.value');
    expect(screen.getByText('memory.rss')).toBeTruthy();
  });

  it('json: the value at path, pretty-printed, with a download link to the server', async () => {
    show({
      kind: 'json',
      title: 'Facts',
      endpoint: '/api/facts',
      path: 'memory',
      download: '/api/facts?download=1',
    });
    const pre = await screen.findByLabelText('Facts (JSON)');
    expect(JSON.parse(pre.textContent!)).toEqual({ rss: 3 * 1024 * 1024 });
    expect(screen.getByRole('link', { name: 'Download' }).getAttribute('href')).toBe(
      `${server.base}/api/facts?download=1`,
    );
  });

  it('health: overall status, each check with latency, critical flag and a labelled history', async () => {
    show({ kind: 'health', endpoint: '/api/health-report' });
    await screen.findByText('Overall: degraded');
    const checks = screen.getAllByRole('listitem');
    expect(checks.map((check) => check.querySelector('strong')!.textContent)).toEqual([
      'database',
      'cache',
    ]);
    expect(checks[0].textContent).toContain('Latency 4.2 ms');
    expect(checks[1].textContent).toContain('informational');
    expect(checks[1].textContent).toContain('slow replies');
    expect(within(checks[0]).getByRole('img').getAttribute('aria-label')).toBe(
      'Last 2 runs: 0 not healthy, slowest 6.0 ms',
    );
    expect(within(checks[1]).getByRole('img').getAttribute('aria-label')).toBe(
      'Last 1 runs: 1 not healthy, slowest 250 ms',
    );
    expect(screen.getByText('Up 1m 30s')).toBeTruthy();
  });

  it('graph: plugins in dependency layers with state, version and what each depends on', async () => {
    show({ kind: 'graph', endpoint: '/api/graph', nodesPath: 'plugins' });
    await screen.findByText('users');
    const layers = screen.getAllByRole('region');
    expect(
      layers.map((layer) => [...layer.querySelectorAll('strong')].map((node) => node.textContent)),
    ).toEqual([['database'], ['users'], ['broken']]);
    expect(layers[1].textContent).toContain('v2.0.0');
    expect(layers[1].textContent).toContain('Depends on database');
    expect(layers[2].textContent).toContain('boom');
    expect(
      layersOf([
        { name: 'a', dependencies: ['b'] },
        { name: 'b', dependencies: ['a'] },
      ]).flat(),
    ).toHaveLength(2);
  });

  it('form: fields generated from a zod schema, typed JSON posted with the CSRF token, problems shown', async () => {
    setCsrfToken('token-123');
    show({ ...formView(formSchema, '/api/settings', { submitLabel: 'Save' }), title: 'Settings' });
    const form = screen.getByRole('form', { name: 'Settings' });
    fireEvent.change(within(form).getByLabelText('Ttl'), { target: { value: '30' } });
    fireEvent.change(within(form).getByLabelText('Mode'), { target: { value: 'safe' } });
    fireEvent.click(within(form).getByLabelText('Enabled'));
    fireEvent.change(within(form).getByLabelText('Label'), { target: { value: 'x' } });
    fireEvent.submit(form);
    await screen.findByText('label: too short');
    fireEvent.change(within(form).getByLabelText('Label'), { target: { value: 'fine' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save' }));
    await screen.findByText('Saved: {"saved":true}');
    expect(seen.forms.at(-1)).toEqual({
      body: { ttl: 30, mode: 'safe', enabled: true, label: 'fine' },
      csrf: 'token-123',
    });
    expect((within(form).getByLabelText('Ttl') as HTMLInputElement).type).toBe('number');
    expect((within(form).getByLabelText('Ttl') as HTMLInputElement).required).toBe(true);
  });

  it('actions: a destructive action asks first; cancel sends nothing, confirm sends once', async () => {
    setCsrfToken('token-456');
    const before = seen.actions.length;
    show({
      kind: 'actions',
      actions: [
        { label: 'Flush', endpoint: '/api/act', destructive: true, confirm: 'Flush everything?' },
      ],
    });
    fireEvent.click(screen.getByRole('button', { name: 'Flush' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Flush everything?' });
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Flush' }));
    fireEvent.keyDown(screen.getByRole('alertdialog'), { key: 'Escape' });
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(seen.actions.length).toBe(before);
    fireEvent.click(screen.getByRole('button', { name: 'Flush' }));
    fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Flush' }));
    await screen.findByText('Flush: Done: {"flushed":true}');
    expect(seen.actions.slice(before)).toEqual([
      { method: 'POST', body: undefined, csrf: 'token-456' },
    ]);
    expect(seen.actions.length).toBe(before + 1);
  });

  it('actions: the CSRF token is never sent to another origin a descriptor names', async () => {
    const other = await startViewServer();
    try {
      setCsrfToken('token-789');
      show({
        kind: 'actions',
        actions: [{ label: 'Elsewhere', endpoint: `${other.base}/api/act` }],
      });
      fireEvent.click(screen.getByRole('button', { name: 'Elsewhere' }));
      await screen.findByText('Elsewhere: Done: {"flushed":true}');
      expect(other.seen.actions).toEqual([{ method: 'POST', body: undefined, csrf: undefined }]);
    } finally {
      await other.app.stop();
    }
  });

  it('logStream: recent lines, then live ones from SSE; pause holds them back until resume', async () => {
    show({ kind: 'logStream', endpoint: '/api/lines', streamEndpoint: '/api/lines/stream' });
    await screen.findByText('older line');
    expect(document.querySelector('.log-level.level-error')!.textContent).toBe('error');
    await screen.findByText('Live');
    server.emitLog({ level: 'warn', time: Date.now(), msg: 'fresh line' });
    await screen.findByText('fresh line');
    expect(
      screen.getAllByRole('listitem').map((item) => item.querySelector('.log-msg')!.textContent),
    ).toEqual(['fresh line', 'older line', 'an error line']);
    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    server.emitLog({ level: 'info', time: Date.now(), msg: 'held line' });
    await screen.findByText('Paused, 1 new');
    expect(screen.queryByText('held line')).toBeNull();
    expect(screen.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed')).toBe(
      'true',
    );
    fireEvent.click(screen.getByRole('button', { name: 'Resume' }));
    await screen.findByText('held line');
  });

  it('custom: refuses a module from another origin', async () => {
    show({ kind: 'custom', module: 'https://cdn.example/page.js' });
    await screen.findByText(
      'Refused to load https://cdn.example/page.js: custom pages must come from this server.',
    );
  });

  it('an unknown kind says so instead of failing', () => {
    show({ kind: 'chart', endpoint: '/x' } as unknown as UIView);
    expect(screen.getByText(/cannot show views of kind “chart”/)).toBeTruthy();
  });

  it('shows the problem detail when an endpoint fails', async () => {
    show({ kind: 'keyValue', endpoint: '/api/missing' });
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toBe('No route for GET /api/missing'),
    );
  });
});
