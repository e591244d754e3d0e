import { z } from 'zod';

/**
 * What a plugin contributes to the control panel, as data. The panel renders each view kind;
 * a plugin adds pages without shipping React code.
 */

export type UIColumnFormat =
  | 'text'
  | 'number'
  | 'bytes'
  | 'duration'
  | 'seconds'
  | 'date'
  | 'status'
  | 'boolean'
  | 'percent'
  | 'json';

export interface UIColumn {
  /** A property of the row; dotted paths reach nested values (`pool.idle`). */
  key: string;
  label: string;
  format?: UIColumnFormat;
}

/** One labelled value a `keyValue` view picks from its endpoint's JSON. */
export interface UIField {
  /** Dotted path into the JSON (`memory.rss`). */
  path: string;
  label: string;
  format?: UIColumnFormat;
}

export interface UIAction {
  label: string;
  /** Endpoint the button calls (same origin). */
  endpoint: string;
  method?: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Asks for confirmation first with this question; destructive actions always ask. */
  confirm?: string;
  destructive?: boolean;
  body?: unknown;
}

/**
 * A button on each card of a `cards` view. `{path}` in its endpoint, confirm text and string body
 * values is replaced by the card's item value at that dotted path (`{service}`, `{id}`).
 */
export interface UICardAction extends UIAction {
  /** Shows the button only on items whose value at `key` is one of `in` (e.g. state candidate). */
  when?: { key: string; in: (string | number | boolean)[] };
}

/** The colours a `cards` view draws; any other value reads as grey. */
export type UICardColour = 'green' | 'yellow' | 'red' | 'grey';

/** A JSON Schema (draft 2020-12) as `z.toJSONSchema` produces it. */
export type UIJsonSchema = Record<string, unknown>;

export type UIView = { title?: string } & (
  | { kind: 'table'; endpoint: string; columns: UIColumn[]; rowsPath?: string; refreshMs?: number }
  | { kind: 'keyValue'; endpoint: string; path?: string; fields?: UIField[]; refreshMs?: number }
  | { kind: 'json'; endpoint: string; path?: string; refreshMs?: number; download?: string }
  | { kind: 'logStream'; endpoint: string; streamEndpoint: string }
  | { kind: 'health'; endpoint: string; refreshMs?: number }
  /** `successMessage` replaces the echoed answer; `{path}` in it is the answer's value there. */
  | {
      kind: 'form';
      schema: UIJsonSchema;
      action: string;
      method?: 'POST' | 'PUT' | 'PATCH';
      submitLabel?: string;
      successMessage?: string;
    }
  | { kind: 'actions'; actions: UIAction[] }
  /**
   * One card per item of the endpoint's array (at `itemsPath`): titled by `titleKey`, its border
   * and badge coloured by the item's value at `colourKey` (UICardColour), written out as text too.
   * `badgeKey` puts a word (the state) before the colour in the badge.
   */
  | {
      kind: 'cards';
      endpoint: string;
      itemsPath?: string;
      titleKey: string;
      colourKey: string;
      badgeKey?: string;
      fields: UIField[];
      refreshMs?: number;
      actions?: UICardAction[];
    }
  /** Nodes with dependencies (the plugin graph): each item has `name`, `dependencies`, `state`. */
  | { kind: 'graph'; endpoint: string; nodesPath?: string; refreshMs?: number }
  /**
   * Escape hatch: a prebuilt ES module (same origin) whose default export is
   * `mount(element, { mountPath, csrfToken }) => (() => void) | void`.
   */
  | { kind: 'custom'; module: string }
);

export type UIViewKind = UIView['kind'];

export interface UIPage {
  /** Stable id, unique across plugins. */
  id: string;
  title: string;
  /** Path inside the panel, e.g. `/cache`. */
  route: string;
  /** An icon name from the panel's built-in set. */
  icon?: string;
  /** A page may stack several views. */
  views: UIView[];
  order?: number;
  /**
   * Several plugins may fill one page (the Services page: the routing plugin's routes, the
   * services plugin's processes): when every page with this id is `shared`, they become one page,
   * the lowest `order` placing it and views joined by `viewOrder`. Without it, a second page with
   * a taken id is dropped.
   */
  shared?: boolean;
  /** Where this plugin's views go on a shared page, lowest first. Default the page's `order`. */
  viewOrder?: number;
}

export interface UINavigationItem {
  label: string;
  route: string;
  icon?: string;
  order?: number;
}

/** A navigation entry of the control panel, under the name the plugin interface is written with. */
export type NavigationItem = UINavigationItem;

export interface UIWidget {
  id: string;
  title: string;
  view: UIView;
  order?: number;
}

export interface UIContribution {
  pages?: UIPage[];
  navigation?: UINavigationItem[];
  widgets?: UIWidget[];
}

/**
 * A `form` view generated from a zod schema, so a plugin's options and its form never drift.
 * @example formView(z.object({ ttl: z.number().int().min(1) }), '/api/cache/settings', { submitLabel: 'Save' })
 */
export function formView(
  schema: z.ZodType,
  action: string,
  options: {
    method?: 'POST' | 'PUT' | 'PATCH';
    submitLabel?: string;
    title?: string;
    successMessage?: string;
  } = {},
): UIView {
  const jsonSchema = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as UIJsonSchema;
  return { kind: 'form', schema: jsonSchema, action, ...options };
}
