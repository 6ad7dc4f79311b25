import type { AdminApi } from './admin-api.ts';
import { AppsModel } from './apps-model.ts';
import { appsPanel } from './apps-panel.ts';
import { deadLettersPanel } from './dead-letters-panel.ts';
import { el, messageOf } from './dom.ts';
import { figuresPanel } from './figures-panel.ts';
import { noticesSection } from './notices-section.ts';

/** The signed-in console: a header with sign-out, then figures, apps, notices and dead letters. */
export function consoleView(api: AdminApi, signOut: () => void): HTMLElement {
  const apps = new AppsModel(api);
  const problem = el('p', { class: 'error', role: 'alert' });
  const out = el('button', { type: 'button', 'data-testid': 'sign-out' }, 'Sign out');
  out.addEventListener('click', signOut);
  const view = el(
    'div',
    { class: 'console' },
    el(
      'header',
      {},
      el('h1', {}, 'IM admin console'),
      el(
        'nav',
        { 'aria-label': 'Sections' },
        ...[
          ['#figures', 'Figures'],
          ['#apps', 'Apps'],
          ['#notices', 'Notices'],
          ['#dead-letters', 'Dead letters'],
        ].map(([href, text]) => el('a', { href: href! }, text)),
      ),
      out,
    ),
    problem,
    figuresPanel(api),
    appsPanel(api, apps),
    noticesSection(api, apps),
    deadLettersPanel(api),
  );
  apps.refresh().catch((err: unknown) => (problem.textContent = messageOf(err)));
  return view;
}
