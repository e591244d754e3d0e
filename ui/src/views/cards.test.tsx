// @vitest-environment jsdom
import type { AddressInfo } from 'node:net';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UIView } from '../../../src/core/ui.js';
import { createApp, definePlugin, type App } from '../../../src/index.js';
import { setCsrfToken } from '../api.js';
import { fillIn } from '../format.js';
import { cardColour } from './CardsView.js';
import { View } from './View.js';

interface Slot {
  id: string;
  service: string;
  state: string;
  colour: string;
  version?: string;
}

const initialSlots = (): Slot[] => [
  { id: 'slot-a', service: 'api', state: 'active', colour: 'green', version: 'v1' },
  { id: 'slot-b', service: 'api', state: 'candidate', colour: 'yellow', version: 'v2' },
  { id: 'slot-c', service: 'api', state: 'dev', colour: 'red' },
  { id: 'slot-d', service: 'api', state: 'stopped', colour: 'grey' },
  { id: 'slot-e', service: 'api', state: 'odd', colour: 'purple' },
];

let app: App;
let slots: Slot[];
const posted: { body: unknown; csrf?: string }[] = [];

beforeAll(async () => {
  // A real server (no fetch stubs): promoting swaps the states, so a reload shows the change.
  const plugin = definePlugin({
    name: 'cards',
    routes: [
      {
        method: 'get',
        path: '/api/slots',
        handler: (_req, res) => void res.json({ data: { slots } }),
      },
      {
        method: 'post',
        path: '/api/promote/:service',
        handler: (req, res) => {
          posted.push({ body: req.body, csrf: req.headers['x-csrf-token'] as string | undefined });
          slots = slots.map((slot) =>
            slot.state === 'candidate'
              ? { ...slot, state: 'active', colour: 'green' }
              : slot.state === 'active'
                ? { ...slot, state: 'previous', colour: 'yellow' }
                : slot,
          );
          res.json({ promoted: req.params.service });
        },
      },
    ],
  });
  app = createApp({
    name: 'cards',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false, readinessDelay: 0 },
    plugins: [plugin],
  });
  await app.start();
  const base = document.createElement('base');
  base.href = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/cpanel/`;
  document.head.append(base);
});
afterEach(() => {
  cleanup();
  setCsrfToken(undefined);
  slots = initialSlots();
  posted.length = 0;
});
afterAll(async () => {
  await app.stop();
});
slots = initialSlots();

const view: UIView = {
  kind: 'cards',
  title: 'Slots',
  endpoint: '/api/slots',
  itemsPath: 'data.slots',
  titleKey: 'id',
  colourKey: 'colour',
  badgeKey: 'state',
  fields: [
    { path: 'version', label: 'Version' },
    { path: 'service', label: 'Service' },
  ],
  actions: [
    {
      label: 'Promote',
      endpoint: '/api/promote/{service}',
      body: { service: '{service}', slot: '{id}' },
      confirm: 'Promote {version} in {id}?',
      when: { key: 'state', in: ['candidate'] },
    },
  ],
};

const cardOf = (title: string) => screen.getByRole('heading', { name: title }).closest('li')!;

describe('cards view', () => {
  it('renders one card per item, its colour on the border and written in the badge', async () => {
    render(<View view={view} />);
    await screen.findByRole('heading', { name: 'slot-a' });
    const cards = within(screen.getByRole('list', { name: 'Slots' })).getAllByRole('listitem');
    expect(cards.map((card) => within(card).getByRole('heading').textContent)).toEqual([
      'slot-a',
      'slot-b',
      'slot-c',
      'slot-d',
      'slot-e',
    ]);
    const expected: [string, string, string][] = [
      ['slot-a', 'green', 'active · green'],
      ['slot-b', 'yellow', 'candidate · yellow'],
      ['slot-c', 'red', 'dev · red'],
      ['slot-d', 'grey', 'stopped · grey'],
      // An unknown colour is drawn grey, never green.
      ['slot-e', 'grey', 'odd · grey'],
    ];
    for (const [title, colour, badge] of expected) {
      const card = cardOf(title);
      expect(card.className).toContain(`card-${colour}`);
      const badgeElement = within(card).getByText(badge);
      expect(badgeElement.className).toContain(`colour-${colour}`);
    }
    const pairs = [...cardOf('slot-a').querySelectorAll('.key-value')].map((pair) => [
      pair.querySelector('dt')!.textContent,
      pair.querySelector('dd')!.textContent,
    ]);
    expect(pairs).toEqual([
      ['Version', 'v1'],
      ['Service', 'api'],
    ]);
  });

  it('shows an action only on the cards it applies to; it asks first, posts the filled-in body and reloads', async () => {
    render(<View view={view} />);
    await screen.findByRole('heading', { name: 'slot-b' });
    expect(within(cardOf('slot-a')).queryByRole('button')).toBeNull();
    const promote = within(cardOf('slot-b')).getByRole('button', { name: 'Promote slot-b' });
    expect(screen.getAllByRole('button')).toHaveLength(1);

    fireEvent.click(promote);
    const dialog = screen.getByRole('alertdialog', { name: 'Promote v2 in slot-b?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(posted).toEqual([]);

    setCsrfToken('token-cards');
    fireEvent.click(promote);
    fireEvent.click(
      within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Promote' }),
    );
    await screen.findByText('Promote slot-b: done.');
    expect(posted).toEqual([{ body: { service: 'api', slot: 'slot-b' }, csrf: 'token-cards' }]);
    // Reloaded: slot-b is now the green active card, slot-a a yellow previous one.
    await waitFor(() => expect(cardOf('slot-b').className).toContain('card-green'));
    expect(within(cardOf('slot-a')).getByText('previous · yellow')).toBeTruthy();
    expect(screen.queryAllByRole('button')).toHaveLength(0);
  });

  it('form: a successMessage filled in from the answer replaces the echoed JSON', async () => {
    render(
      <View
        view={{
          kind: 'form',
          title: 'Go',
          schema: { type: 'object', properties: {} },
          action: '/api/promote/web',
          successMessage: 'Promoted {promoted}.',
        }}
      />,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    await screen.findByText('Promoted web.');
    expect(posted).toHaveLength(1);
  });

  it('colour and template helpers', () => {
    expect(['green', 'yellow', 'red', 'grey', 'blue', undefined].map(cardColour)).toEqual([
      'green',
      'yellow',
      'red',
      'grey',
      'grey',
      'grey',
    ]);
    expect(fillIn('/api/{service}/slots/{id}', { service: 'a b', id: 'x/y' }, true)).toBe(
      '/api/a%20b/slots/x%2Fy',
    );
    expect(fillIn('{missing} in {nested.key}', { nested: { key: 'k' } })).toBe(' in k');
  });
});
