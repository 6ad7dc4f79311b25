import type { AdminApi } from './admin-api.ts';
import { el, messageOf, poll } from './dom.ts';
import { FigureSampler, PUSH_OUTCOMES, type Figures } from './figures.ts';
import { LineChart } from './line-chart.ts';
import { parsePrometheus } from './prometheus.ts';

/** How often /metrics is read. */
const METRICS_POLL_MS = 2_000;

interface Card {
  value: HTMLElement;
  chart: LineChart;
  element: HTMLElement;
}

type Key = 'connections' | 'messages' | 'notices' | 'pushes' | 'bus-lag';
const CARDS: readonly [Key, string][] = [
  ['connections', 'Connections'],
  ['messages', 'Messages/s'],
  ['notices', 'Notices/s'],
  ['pushes', 'Mobile pushes/s'],
  ['bus-lag', 'Bus lag (ms, mean)'],
];

/** The server's own figures, read from /metrics every 2 s, each a number and a small chart that moves. */
export function figuresPanel(api: AdminApi): HTMLElement {
  const cards = Object.fromEntries(CARDS.map(([key, label]) => [key, card(key, label)])) as Record<Key, Card>;
  const detail = el('p', { class: 'muted', 'data-testid': 'push-outcomes' });
  const problem = el('p', { class: 'error', role: 'alert' });
  const sampler = new FigureSampler();
  poll(
    METRICS_POLL_MS,
    async () => {
      const figures = sampler.next(parsePrometheus(await api.metrics()), Date.now());
      show(cards, detail, figures);
      problem.textContent = '';
    },
    (err) => (problem.textContent = `Figures: ${messageOf(err)}`),
  );
  return el(
    'section',
    { 'aria-labelledby': 'figures-h', id: 'figures' },
    el('h2', { id: 'figures-h' }, 'Live figures'),
    el('div', { class: 'cards' }, ...Object.values(cards).map((c) => c.element)),
    detail,
    problem,
  );
}

function card(key: Key, label: string): Card {
  const value = el('output', { class: 'figure', 'data-testid': `figure-${key}` }, '…');
  const chart = new LineChart(`${label} over the last two minutes`, `chart-${key}`);
  const element = el('div', { class: 'card' }, el('div', { class: 'card-label' }, label), value);
  element.append(chart.element);
  return { value, chart, element };
}

function show(cards: Record<Key, Card>, detail: HTMLElement, f: Figures): void {
  const set = (key: Key, value: number | null, digits: number) => {
    cards[key].value.textContent = value === null ? '—' : value.toFixed(digits);
    if (value !== null) cards[key].chart.push(value);
  };
  set('connections', f.connections, 0);
  set('messages', f.messagesPerSec, 1);
  set('notices', f.noticesPerSec, 1);
  const pushes = f.pushesPerSec;
  set('pushes', pushes === null ? null : PUSH_OUTCOMES.reduce((sum, o) => sum + pushes[o], 0), 1);
  set('bus-lag', f.busLagMs, 2);
  if (pushes) detail.textContent = PUSH_OUTCOMES.map((o) => `${o} ${pushes[o].toFixed(1)}/s`).join(' · ');
}
