/** The drawing area of a chart, in SVG user units. */
export const CHART = { width: 240, height: 60, pad: 2 } as const;

/**
 * An SVG path through `values` from left to right, scaled so the largest fills the height (a flat line sits at
 * the bottom; all zeros too). '' when there are none. Each point is one `L` (the first an `M`).
 */
export function chartPath(values: readonly number[], size: { width: number; height: number; pad: number } = CHART) {
  if (values.length === 0) return '';
  const max = Math.max(...values, 0);
  const step = values.length > 1 ? (size.width - 2 * size.pad) / (values.length - 1) : 0;
  const inner = size.height - 2 * size.pad;
  return values
    .map((v, i) => {
      const x = size.pad + i * step;
      const y = size.height - size.pad - (max > 0 ? (Math.max(v, 0) / max) * inner : 0);
      return `${i === 0 ? 'M' : 'L'}${x.toFixed(1)} ${y.toFixed(1)}`;
    })
    .join(' ');
}
