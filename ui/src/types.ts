import type { UINavigationItem, UIPage, UIWidget } from '../../src/core/ui.js';

/** The body of `GET <mount>/api/ui`. */
export interface PanelDescription {
  app: { name: string; version?: string };
  branding: { title: string; accentColor: string };
  user?: string;
  pages: (UIPage & { plugin: string })[];
  navigation: (UINavigationItem & { plugin: string })[];
  widgets: (UIWidget & { plugin: string })[];
}
