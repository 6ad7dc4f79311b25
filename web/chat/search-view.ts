import type { SearchHit } from '../../client/sdk.ts';
import { el, fill, formatTime, messageOf } from './dom.ts';
import type { Session } from './session.ts';

/** Search of the messages this user may read; a result opens its conversation. */
export function searchView(session: Session, open: (conversation: string) => void): HTMLElement {
  const input = el('input', { id: 'search-text', type: 'search', 'data-testid': 'search-input', autocomplete: 'off' });
  const results = el('ul', { class: 'search-results', 'data-testid': 'search-results', 'aria-live': 'polite' });
  const hitItem = (hit: SearchHit) =>
    el(
      'li',
      {},
      el(
        'button',
        {
          type: 'button',
          class: 'search-hit',
          'data-testid': 'search-hit',
          onclick: () => (fill(results), open(hit.conversation)),
        },
        el(
          'span',
          { class: 'row-top' },
          el('span', { class: 'row-title' }, session.store.conversation(hit.conversation).title),
          el('time', {}, formatTime(hit.sentAtMs)),
        ),
        el('span', { class: 'row-preview' }, `${hit.fromUser}: ${hit.snippet}`),
      ),
    );
  const search = async () => {
    const text = input.value.trim();
    if (text === '') return fill(results);
    try {
      const { hits } = await session.client.search({ text });
      fill(results, ...(hits.length > 0 ? hits.map(hitItem) : [el('li', { class: 'empty' }, 'Nothing found')]));
    } catch (err) {
      fill(results, el('li', { class: 'error', role: 'alert' }, messageOf(err)));
    }
  };
  return el(
    'div',
    { class: 'search' },
    el(
      'form',
      { role: 'search', onsubmit: (e) => (e.preventDefault(), void search()) },
      el('label', { for: 'search-text' }, 'Search messages'),
      el('div', { class: 'row' }, input, el('button', { type: 'submit', 'data-testid': 'search' }, 'Search')),
    ),
    results,
  );
}
