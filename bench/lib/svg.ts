// A small SVG chart writer: line charts (numeric x, optional log y) and grouped bar charts, stacked as panels in
// one file a person can open in a browser. No dependencies; every value is escaped.

export interface LineSeries {
  name: string;
  points: [number, number][];
  /** Draw dashed (e.g. a baseline). */
  dashed?: boolean;
  color?: string;
}

export interface LineChart {
  kind: 'line';
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  logY?: boolean;
  /** A horizontal line (e.g. a target) with its label. */
  hLine?: { y: number; label: string };
  /** Vertical markers (e.g. the moments faults were injected), each labelled at the top. */
  vLines?: { x: number; label: string }[];
}

export interface BarChart {
  kind: 'bar';
  title: string;
  yLabel: string;
  groups: { label: string; bars: { name: string; value: number }[] }[];
  hLine?: { y: number; label: string };
}

export type Chart = LineChart | BarChart;

const W = 760;
const H = 380;
const M = { top: 44, right: 190, bottom: 56, left: 78 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

export const PALETTE = COLORS;

export function renderSvg(title: string, charts: Chart[], footer: string[] = []): string {
  const footH = 16 * footer.length + (footer.length ? 12 : 0);
  const height = 40 + charts.length * H + footH;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${W / 2}" y="26" text-anchor="middle" font-size="16" font-weight="600">${esc(title)}</text>`,
  ];
  charts.forEach((c, i) => {
    parts.push(`<g transform="translate(0 ${40 + i * H})">`);
    parts.push(c.kind === 'line' ? line(c) : bar(c));
    parts.push('</g>');
  });
  footer.forEach((f, i) => {
    parts.push(`<text x="12" y="${40 + charts.length * H + 14 + i * 16}" fill="#555">${esc(f)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function frame(title: string, xLabel: string, yLabel: string): string[] {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  return [
    `<text x="${M.left + pw / 2}" y="${M.top - 14}" text-anchor="middle" font-size="14" font-weight="600">${esc(title)}</text>`,
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  ];
}

function line(c: LineChart): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const xs = c.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = c.series.flatMap((s) => s.points.map((p) => p[1])).concat(c.hLine ? [c.hLine.y] : []);
  const logY = c.logY === true && ys.some((y) => y > 0);
  const [x0, x1] = span(xs, false);
  const [y0, y1] = span(
    ys.filter((y) => !logY || y > 0),
    logY,
  );
  const fy = (y: number) => (logY ? Math.log10(Math.max(y, y0)) : y);
  const px = (x: number) => M.left + ((x - x0) / (x1 - x0 || 1)) * pw;
  const py = (y: number) => M.top + ph - ((fy(y) - fy(y0)) / (fy(y1) - fy(y0) || 1)) * ph;
  const out = frame(c.title, c.xLabel, c.yLabel);
  for (const t of ticks(x0, x1, false)) {
    out.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${M.top + ph}" y2="${M.top + ph + 4}" stroke="#999"/>`);
    out.push(`<text x="${px(t)}" y="${M.top + ph + 18}" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of ticks(y0, y1, logY)) {
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${py(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  if (c.hLine) out.push(...hLine(py(c.hLine.y), c.hLine.label));
  for (const [i, v] of (c.vLines ?? []).entries()) out.push(...vLine(px(v.x), v.label, i));
  c.series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!logY || p[1] > 0));
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${px(p[0]).toFixed(1)} ${py(p[1]).toFixed(1)}`).join(' ');
    if (pts.length > 1)
      out.push(
        `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
    for (const p of pts) out.push(`<circle cx="${px(p[0])}" cy="${py(p[1])}" r="3" fill="${color}"/>`);
    out.push(...legend(i, s.name, color, s.dashed === true));
  });
  return out.join('\n');
}

function bar(c: BarChart): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const values = c.groups.flatMap((g) => g.bars.map((b) => b.value)).concat(c.hLine ? [c.hLine.y] : []);
  const [, y1] = span([0, ...values], false);
  const py = (y: number) => M.top + ph - (y / (y1 || 1)) * ph;
  const names = [...new Set(c.groups.flatMap((g) => g.bars.map((b) => b.name)))];
  const out = frame(c.title, '', c.yLabel);
  for (const t of ticks(0, y1, false)) {
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${py(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  const gw = pw / Math.max(1, c.groups.length);
  const bw = (gw * 0.8) / Math.max(1, names.length);
  c.groups.forEach((g, gi) => {
    const gx = M.left + gi * gw + gw * 0.1;
    out.push(`<text x="${gx + gw * 0.4}" y="${M.top + ph + 18}" text-anchor="middle">${esc(g.label)}</text>`);
    for (const b of g.bars) {
      const ni = names.indexOf(b.name);
      const x = gx + ni * bw;
      const y = py(Math.max(0, b.value));
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(M.top + ph - y).toFixed(1)}" fill="${COLORS[ni % COLORS.length]}"/>`,
      );
      out.push(`<text x="${x + bw / 2}" y="${y - 4}" text-anchor="middle" font-size="10">${fmt(b.value)}</text>`);
    }
  });
  if (c.hLine) out.push(...hLine(py(c.hLine.y), c.hLine.label));
  names.forEach((n, i) => out.push(...legend(i, n, COLORS[i % COLORS.length]!, false)));
  return out.join('\n');
}

function hLine(y: number, label: string): string[] {
  const pw = W - M.left - M.right;
  return [
    `<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#d62728" stroke-dasharray="2 3"/>`,
    `<text x="${M.left + pw - 4}" y="${y - 4}" text-anchor="end" fill="#d62728">${esc(label)}</text>`,
  ];
}

/** A dashed vertical marker; labels alternate between two heights so that neighbours do not overlap. */
function vLine(x: number, label: string, i: number): string[] {
  const ph = H - M.top - M.bottom;
  const y = M.top + 12 + (i % 2) * 12;
  return [
    `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${M.top}" y2="${M.top + ph}" stroke="#888" stroke-dasharray="3 3"/>`,
    `<text x="${(x + 2).toFixed(1)}" y="${y}" font-size="9" fill="#555">${esc(label)}</text>`,
  ];
}

function legend(i: number, name: string, color: string, dashed: boolean): string[] {
  const x = W - M.right + 14;
  const y = M.top + 10 + i * 18;
  return [
    `<line x1="${x}" x2="${x + 20}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="3"${dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    `<text x="${x + 26}" y="${y + 4}">${esc(name)}</text>`,
  ];
}

function span(values: number[], log: boolean): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (log) {
    lo = 10 ** Math.floor(Math.log10(lo));
    hi = 10 ** Math.ceil(Math.log10(hi));
    return lo === hi ? [lo, lo * 10] : [lo, hi];
  }
  if (lo > 0 && lo < hi * 0.5) lo = 0;
  if (lo === hi) hi = lo + 1;
  return [lo, hi * 1.05];
}

function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)) && out.length < 12; e++) out.push(10 ** e);
    return out.filter((t) => t >= lo && t <= hi);
  }
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi && out.length < 12; t += step) out.push(t);
  return out;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return String(Math.round(v));
  if (a >= 1) return String(+v.toFixed(2));
  return String(+v.toPrecision(2));
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
