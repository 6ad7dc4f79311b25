import type { AppInfo, Scope } from '../../client/notice-api.ts';
import type { AdminApi } from './admin-api.ts';
import type { AppsModel } from './apps-model.ts';
import { el, labelled, messageOf, when } from './dom.ts';

const SCOPES: readonly Scope[] = ['unicast', 'multicast', 'tag', 'broadcast', 'read'];

/** Apps: the list (revoke with a confirm), and a form to create one whose secret is shown once. */
export function appsPanel(api: AdminApi, apps: AppsModel): HTMLElement {
  const status = el('p', { class: 'status', role: 'status' });
  const secretBox = el('div', { class: 'secret', 'data-testid': 'app-secret-box', hidden: true });
  const tbody = el('tbody');
  const form = createForm(api, apps, status, secretBox);
  apps.onChange((list) => tbody.replaceChildren(...list.map((app) => appRow(app, api, apps, status))));
  return el(
    'section',
    { 'aria-labelledby': 'apps-h', id: 'apps' },
    el('h2', { id: 'apps-h' }, 'Apps'),
    form,
    secretBox,
    status,
    el(
      'div',
      { class: 'scroll' },
      el(
        'table',
        { 'data-testid': 'apps' },
        el('thead', {}, el('tr', {}, ...['Name', 'Id', 'Scopes', 'Created', 'State', ''].map((h) => el('th', {}, h)))),
        tbody,
      ),
    ),
  );
}

function createForm(api: AdminApi, apps: AppsModel, status: HTMLElement, secretBox: HTMLElement): HTMLFormElement {
  const name = el('input', { name: 'name', required: true, maxlength: '64' });
  const boxes = SCOPES.map((scope) => el('input', { type: 'checkbox', name: 'scope', value: scope, checked: true }));
  const scopes = el(
    'fieldset',
    {},
    el('legend', {}, 'Scopes'),
    ...boxes.map((box) => el('label', { class: 'check' }, box, box.value)),
  );
  const form = el(
    'form',
    { 'aria-label': 'Create an app' },
    labelled('App name', name),
    scopes,
    el('button', {}, 'Create app'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value as Scope);
    api
      .createApp({ name: name.value, scopes: chosen })
      .then(async (created) => {
        showSecret(secretBox, created);
        name.value = '';
        status.textContent = `Created ${created.name}.`;
        await apps.refresh();
      })
      .catch((err: unknown) => (status.textContent = messageOf(err)));
  });
  return form;
}

/** The new app's secret, shown this once (the server never lists it again) with a copy button and a warning. */
function showSecret(box: HTMLElement, created: AppInfo & { secret: string }): void {
  const secret = el('code', { 'data-testid': 'app-secret' }, created.secret);
  const copy = el('button', { type: 'button' }, 'Copy secret');
  const done = el('button', { type: 'button' }, 'I have saved it');
  const copied = el('span', { role: 'status' });
  copy.addEventListener('click', () => {
    navigator.clipboard
      .writeText(created.secret)
      .then(() => (copied.textContent = 'Copied.'))
      .catch(() => (copied.textContent = 'Copy refused by the browser: select the secret and copy it.'));
  });
  done.addEventListener('click', () => {
    box.replaceChildren();
    box.hidden = true;
  });
  box.replaceChildren(
    el(
      'p',
      { class: 'warning' },
      `Secret of ${created.name} (${created.id}). It is shown only now: copy it and keep it safe.`,
    ),
    secret,
    el('div', { class: 'actions' }, copy, done, copied),
  );
  box.hidden = false;
  copy.focus();
}

function appRow(app: AppInfo, api: AdminApi, apps: AppsModel, status: HTMLElement): HTMLTableRowElement {
  const revoked = (app.revoked_at_ms ?? 0) > 0;
  const revoke = el('button', { type: 'button', disabled: revoked, 'aria-label': `Revoke ${app.name}` }, 'Revoke');
  revoke.addEventListener('click', () => {
    if (!confirm(`Revoke ${app.name}? Its signed requests are refused from now on.`)) return;
    api
      .revokeApp(app.id)
      .then(async () => {
        status.textContent = `Revoked ${app.name}.`;
        await apps.refresh();
      })
      .catch((err: unknown) => (status.textContent = messageOf(err)));
  });
  return el(
    'tr',
    { 'data-testid': 'app-row', 'data-app-id': app.id },
    el('td', {}, app.name),
    el('td', {}, el('code', {}, app.id)),
    el('td', {}, app.scopes.join(', ')),
    el('td', {}, when(app.created_at_ms)),
    el('td', { 'data-testid': 'app-state' }, revoked ? `revoked ${when(app.revoked_at_ms ?? 0)}` : 'active'),
    el('td', {}, revoke),
  );
}
