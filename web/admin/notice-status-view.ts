import type { NoticeStatus } from '../../client/notice-api.ts';
import type { AdminApi } from './admin-api.ts';
import { el, messageOf, poll, when } from './dom.ts';

/** How often an open notice's status is asked again. */
const STATUS_POLL_MS = 1_500;
const COUNTS = ['targeted', 'stored', 'delivered', 'read'] as const;
const FINAL_STATES: readonly string[] = ['cancelled', 'expired'];

/**
 * One notice's delivery status, asked again every 1.5 s while it is shown (state, counts, each recipient for a
 * short list of users), and a button that cancels it.
 */
export class NoticeStatusView {
  readonly element = el('section', { class: 'notice-status', 'aria-live': 'polite', 'data-testid': 'notice-status' });
  private polling: { stop(): void } | undefined;

  constructor(
    private readonly api: AdminApi,
    private readonly onChanged: () => void,
  ) {
    this.element.hidden = true;
  }

  show(appId: string, first: NoticeStatus): void {
    this.polling?.stop();
    this.render(appId, first, '');
    this.polling = poll(
      STATUS_POLL_MS,
      async () => this.render(appId, await this.api.getNotice(appId, first.id), ''),
      (err) => this.render(appId, first, messageOf(err)),
    );
  }

  private render(appId: string, status: NoticeStatus, problem: string): void {
    const cancel = el(
      'button',
      { type: 'button', disabled: FINAL_STATES.includes(status.state), 'data-testid': 'cancel-notice' },
      'Cancel notice',
    );
    cancel.addEventListener('click', () => {
      this.api
        .cancelNotice(appId, status.id)
        .then((now) => {
          this.render(appId, now, '');
          this.onChanged();
        })
        .catch((err: unknown) => this.render(appId, status, messageOf(err)));
    });
    this.element.replaceChildren(
      el('h3', {}, status.content.title),
      el('p', { class: 'notice-body' }, status.content.body),
      el(
        'dl',
        { class: 'facts' },
        ...fact('Id', status.id, 'notice-id'),
        ...fact('State', status.state, 'notice-state'),
        ...fact('Audience', audienceOf(status), 'notice-audience'),
        ...fact('Priority', status.priority, 'notice-priority'),
        ...fact('Send at', when(status.deliver_at_ms), 'notice-deliver-at'),
        ...fact('Expires', when(status.expire_at_ms) || 'never', 'notice-expire-at'),
        ...fact('Fired', when(status.fired_at_ms), 'notice-fired-at'),
        ...(status.cancelled_at_ms > 0 ? fact('Cancelled', when(status.cancelled_at_ms), 'notice-cancelled-at') : []),
        ...COUNTS.flatMap((c) => fact(c[0]!.toUpperCase() + c.slice(1), String(status.counts[c]), `count-${c}`)),
      ),
      recipientsList(status),
      el('div', { class: 'actions' }, cancel),
      el('p', { class: 'error', role: 'alert' }, problem),
    );
    this.element.hidden = false;
  }
}

function fact(name: string, value: string, testid: string): HTMLElement[] {
  return [el('dt', {}, name), el('dd', { 'data-testid': testid }, value)];
}

function audienceOf(status: NoticeStatus): string {
  if (status.target_kind === 'tag') return `tag ${status.tag}`;
  if (status.target_kind === 'all') return 'everyone';
  return `${status.counts.targeted} user(s)`;
}

function recipientsList(status: NoticeStatus): HTMLElement {
  if (status.recipients.length === 0) return el('p', { class: 'muted' }, 'No per-user status for this notice.');
  return el(
    'ul',
    { class: 'recipients', 'data-testid': 'recipients' },
    ...status.recipients.map((r) => el('li', {}, `${r.user}: ${r.read ? 'read' : 'not read'} (seq ${r.seq})`)),
  );
}
