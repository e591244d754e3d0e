/**
 * What a plugin contributes to the control panel, as data. The panel renders each view kind;
 * a plugin adds pages without shipping React code.
 */

export type UIColumnFormat = 'text' | 'number' | 'bytes' | 'duration' | 'date' | 'status' | 'json';

export interface UIColumn {
  key: string;
  label: string;
  format?: UIColumnFormat;
}

export interface UIAction {
  label: string;
  /** Endpoint the button calls (same origin). */
  endpoint: string;
  method?: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Asks for confirmation first; required wording for destructive actions. */
  confirm?: string;
  destructive?: boolean;
  body?: unknown;
}

export type UIView =
  | { kind: 'table'; endpoint: string; columns: UIColumn[]; rowsPath?: string; refreshMs?: number }
  | { kind: 'keyValue'; endpoint: string; path?: string; refreshMs?: number }
  | { kind: 'json'; endpoint: string; path?: string; refreshMs?: number; download?: string }
  | { kind: 'logStream'; endpoint: string; streamEndpoint: string }
  | { kind: 'health'; endpoint: string; refreshMs?: number }
  | { kind: 'form'; schema: Record<string, unknown>; action: string; method?: 'POST' | 'PUT'; submitLabel?: string }
  | { kind: 'actions'; actions: UIAction[] }
  | { kind: 'custom'; module: string };

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
}

export interface UINavigationItem {
  label: string;
  route: string;
  icon?: string;
  order?: number;
}

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
