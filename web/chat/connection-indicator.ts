import { el } from './dom.ts';
import type { Session } from './session.ts';

const LABEL = { connecting: 'Connecting…', online: 'Online', reconnecting: 'Reconnecting…' } as const;

/** The connection's state, as the SDK reports it (it reconnects by itself, with backoff, after a drop). */
export function connectionIndicator(session: Session): HTMLElement {
  const indicator = el('span', { class: 'connection', role: 'status', 'data-testid': 'connection' });
  const update = () => {
    indicator.textContent = LABEL[session.state];
    indicator.dataset.state = session.state;
    indicator.title = session.problem;
  };
  session.onState(update);
  update();
  return indicator;
}
