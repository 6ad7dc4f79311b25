import type { DeadLetter } from '../../client/notice-api.ts';
import type { AdminApi } from './admin-api.ts';
import { el, messageOf, when } from './dom.ts';

/** Mobile pushes refused until their last try: the list, and a replay of the ones selected. */
export function deadLettersPanel(api: AdminApi): HTMLElement {
  const tbody = el('tbody');
  const status = el('p', { class: 'status', role: 'status', 'data-testid': 'dead-letters-status' });
  const replay = el('button', { type: 'button', disabled: true }, 'Replay selected');
  const refresh = el('button', { type: 'button' }, 'Refresh');
  const selected = () =>
    [...tbody.querySelectorAll<HTMLInputElement>('input[type=checkbox]:checked')].map((b) => b.value);
  const load = async () => {
    const { dead_letters: letters } = await api.listDeadLetters();
    tbody.replaceChildren(...letters.map(letterRow));
    if (letters.length === 0) tbody.append(el('tr', {}, el('td', { colspan: '7', class: 'muted' }, 'None.')));
    replay.disabled = true;
  };
  const reload = () => load().catch((err: unknown) => (status.textContent = messageOf(err)));
  tbody.addEventListener('change', () => (replay.disabled = selected().length === 0));
  refresh.addEventListener('click', () => void reload());
  replay.addEventListener('click', () => {
    api
      .replayDeadLetters(selected())
      .then(async ({ replayed }) => {
        status.textContent = `Replayed ${replayed}.`;
        await load();
      })
      .catch((err: unknown) => (status.textContent = messageOf(err)));
  });
  void reload();
  return el(
    'section',
    { 'aria-labelledby': 'dead-h', id: 'dead-letters' },
    el('h2', { id: 'dead-h' }, 'Dead letters (mobile push)'),
    el('div', { class: 'actions' }, refresh, replay),
    status,
    el(
      'div',
      { class: 'scroll' },
      el(
        'table',
        { 'data-testid': 'dead-letters' },
        el(
          'thead',
          {},
          el('tr', {}, ...['', 'User', 'Device', 'Platform', 'Reason', 'Attempts', 'At'].map((h) => el('th', {}, h))),
        ),
        tbody,
      ),
    ),
  );
}

function letterRow(letter: DeadLetter): HTMLTableRowElement {
  const box = el('input', { type: 'checkbox', value: letter.id, 'aria-label': `Select ${letter.id}` });
  return el(
    'tr',
    { 'data-testid': 'dead-letter-row', 'data-id': letter.id },
    el('td', {}, box),
    el('td', {}, letter.user),
    el('td', {}, letter.device),
    el('td', {}, letter.platform),
    el('td', {}, letter.reason),
    el('td', {}, String(letter.attempts)),
    el('td', {}, when(letter.at_ms)),
  );
}
