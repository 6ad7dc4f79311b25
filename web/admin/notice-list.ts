import type { NoticeStatus } from '../../client/notice-api.ts';
import { el, when } from './dom.ts';

/** Notices shown in the list, newest first. */
const SHOWN = 50;

/** The app's recent notices as buttons: choosing one opens its status. */
export function renderNoticeList(
  list: HTMLElement,
  notices: readonly NoticeStatus[],
  open: (notice: NoticeStatus) => void,
): void {
  const newest = [...notices].sort((a, b) => b.created_at_ms - a.created_at_ms).slice(0, SHOWN);
  if (newest.length === 0) {
    list.replaceChildren(el('li', { class: 'muted' }, 'No notices yet.'));
    return;
  }
  list.replaceChildren(
    ...newest.map((n) => {
      const button = el(
        'button',
        { type: 'button', class: 'link', 'data-notice-id': n.id },
        `${n.content.title} · ${n.state} · ${when(n.created_at_ms)}`,
      );
      button.addEventListener('click', () => open(n));
      return el('li', { 'data-testid': 'notice-row' }, button);
    }),
  );
}
