import { useEffect, useRef, useState, type MouseEvent } from 'react';
import { Icon } from './icons.js';
import { useRoute } from './router.js';
import type { PanelDescription } from './types.js';
import { View } from './views/View.js';

function PageContent({ panel, route }: { panel: PanelDescription; route: string }) {
  const page = panel.pages.find((candidate) => candidate.route === route);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    // Move focus to the new page's heading so keyboard and screen-reader users land on it.
    if (document.activeElement && document.activeElement !== document.body)
      heading.current?.focus();
  }, [route]);
  if (!page) {
    return (
      <>
        <h1 ref={heading} tabIndex={-1}>
          Page not found
        </h1>
        <p className="note">Nothing is registered at {route}.</p>
      </>
    );
  }
  const widgets = page.id === 'dashboard' ? panel.widgets : [];
  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        {page.title}
      </h1>
      {page.views.map((view, index) => (
        <View key={`${page.id}-${index}`} view={view} />
      ))}
      {widgets.map((widget) => (
        <View key={widget.id} view={{ ...widget.view, title: widget.view.title ?? widget.title }} />
      ))}
      {page.views.length === 0 && widgets.length === 0 && (
        <p className="note">Nothing to show yet: register the health or diagnostics plugin.</p>
      )}
    </>
  );
}

export function Shell({
  panel,
  mountPath,
  onLogout,
}: {
  panel: PanelDescription;
  mountPath: string;
  onLogout: () => void;
}) {
  const [route, navigate] = useRoute(mountPath);
  const [menuOpen, setMenuOpen] = useState(false);
  const links = [
    ...panel.pages.map((page) => ({
      key: page.id,
      label: page.title,
      route: page.route,
      icon: page.icon,
    })),
    ...panel.navigation
      .filter((item) => !panel.pages.some((page) => page.route === item.route))
      .map((item) => ({
        key: `nav-${item.route}`,
        label: item.label,
        route: item.route,
        icon: item.icon,
      })),
  ];
  const follow = (event: MouseEvent<HTMLAnchorElement>, target: string) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    setMenuOpen(false);
    navigate(target);
  };
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button
          type="button"
          className="icon-button menu-button"
          aria-expanded={menuOpen}
          aria-controls="panel-nav"
          aria-label="Menu"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          <Icon name="menu" />
        </button>
        <div className="brand">
          <span className="brand-title">{panel.branding.title}</span>
          <span className="brand-app">
            {panel.app.name}
            {panel.app.version ? ` ${panel.app.version}` : ''}
          </span>
        </div>
        <div className="topbar-user">
          {panel.user && <span className="muted user-name">{panel.user}</span>}
          <button type="button" className="button" onClick={onLogout}>
            <Icon name="logout" size={16} /> Log out
          </button>
        </div>
      </header>
      <nav id="panel-nav" className={menuOpen ? 'sidebar open' : 'sidebar'} aria-label="Pages">
        <ul>
          {links.map((link) => (
            <li key={link.key}>
              <a
                href={`${mountPath}${link.route === '/' ? '/' : link.route}`}
                aria-current={route === link.route ? 'page' : undefined}
                onClick={(event) => follow(event, link.route)}
              >
                <Icon name={link.icon} />
                <span>{link.label}</span>
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <PageContent panel={panel} route={route} />
      </main>
    </div>
  );
}
