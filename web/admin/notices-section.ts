import type { AdminApi } from './admin-api.ts';
import type { AppsModel } from './apps-model.ts';
import { composeForm } from './compose-form.ts';
import { el, labelled, messageOf } from './dom.ts';
import { renderNoticeList } from './notice-list.ts';
import { NoticeStatusView } from './notice-status-view.ts';

/** Notices of one app: pick the app, compose and send, the recent ones, and the chosen one's live status. */
export function noticesSection(api: AdminApi, apps: AppsModel): HTMLElement {
  const appSelect = el('select', { name: 'app', 'data-testid': 'notice-app' });
  const list = el('ul', { class: 'notice-list', 'data-testid': 'notice-list' });
  const problem = el('p', { class: 'error', role: 'alert' });
  const refreshList = () => {
    const appId = appSelect.value;
    if (appId === '') return list.replaceChildren();
    api
      .listNotices(appId)
      .then(({ notices }) => renderNoticeList(list, notices, (n) => statusView.show(appId, n)))
      .catch((err: unknown) => (problem.textContent = messageOf(err)));
  };
  const statusView = new NoticeStatusView(api, refreshList);
  apps.onChange(() => {
    const chosen = appSelect.value;
    appSelect.replaceChildren(
      ...apps.active.map((a) => el('option', { value: a.id, selected: a.id === chosen }, `${a.name} (${a.id})`)),
    );
    refreshList();
  });
  appSelect.addEventListener('change', refreshList);
  const form = composeForm(async (request) => {
    if (appSelect.value === '') throw new Error('Create an app first: a notice is sent as one of your apps.');
    const appId = appSelect.value;
    statusView.show(appId, await api.sendNotice(appId, request));
    refreshList();
  });
  const refresh = el('button', { type: 'button' }, 'Refresh list');
  refresh.addEventListener('click', refreshList);
  return el(
    'section',
    { 'aria-labelledby': 'notices-h', id: 'notices' },
    el('h2', { id: 'notices-h' }, 'Notices'),
    labelled('Send as app', appSelect),
    el(
      'div',
      { class: 'columns' },
      form,
      el('div', {}, statusView.element, el('h3', {}, 'Recent notices'), refresh, problem, list),
    ),
  );
}
