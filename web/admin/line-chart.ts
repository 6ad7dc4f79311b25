import { CHART, chartPath } from './chart-path.ts';

const SVG = 'http://www.w3.org/2000/svg';
/** Points a chart keeps: two minutes at one read every 2 s. */
const POINTS = 60;

/** A small SVG line chart of the last values pushed to it, drawn anew on each push. */
export class LineChart {
  readonly element: SVGSVGElement;
  private readonly line: SVGPathElement;
  private readonly values: number[] = [];

  constructor(label: string, testid: string) {
    this.element = document.createElementNS(SVG, 'svg');
    this.element.setAttribute('viewBox', `0 0 ${CHART.width} ${CHART.height}`);
    this.element.setAttribute('class', 'chart');
    this.element.setAttribute('role', 'img');
    this.element.setAttribute('aria-label', label);
    const base = document.createElementNS(SVG, 'line');
    for (const [k, v] of Object.entries({ x1: 0, y1: CHART.height - 1, x2: CHART.width, y2: CHART.height - 1 })) {
      base.setAttribute(k, String(v));
    }
    base.setAttribute('class', 'chart-base');
    this.line = document.createElementNS(SVG, 'path');
    this.line.setAttribute('class', 'chart-line');
    this.line.setAttribute('data-testid', testid);
    this.element.append(base, this.line);
  }

  push(value: number): void {
    this.values.push(value);
    if (this.values.length > POINTS) this.values.shift();
    this.line.setAttribute('d', chartPath(this.values));
    this.line.setAttribute('data-points', String(this.values.length));
  }
}
