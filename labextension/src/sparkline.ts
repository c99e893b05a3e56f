/**
 * The history of a task value across runs: a sparkline (SVG drawn here, no chart library) when the values
 * are numbers, each point with a tooltip of its run, time and value.
 */
import { s } from './dom';
import { utcTitle } from './format';
import { IHistoryPoint } from './tokens';

/** A point of the sparkline in SVG coordinates. */
export interface ISparkPoint {
  x: number;
  y: number;
  value: number;
  point: IHistoryPoint;
}

/** The numeric points of a history (booleans and non-numbers are left out). */
export function numericPoints(points: IHistoryPoint[]): IHistoryPoint[] {
  return points.filter(p => typeof p.value === 'number' && Number.isFinite(p.value));
}

/**
 * Place numeric history points in a `width` x `height` box with `pad` around: x by order, y by value
 * (the largest value at the top; a flat series sits in the middle).
 */
export function sparkPoints(
  points: IHistoryPoint[],
  width: number,
  height: number,
  pad = 4
): ISparkPoint[] {
  const numeric = numericPoints(points);
  if (numeric.length === 0) {
    return [];
  }
  const values = numeric.map(p => p.value as number);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min;
  const stepX = numeric.length > 1 ? (width - 2 * pad) / (numeric.length - 1) : 0;
  return numeric.map((point, i) => {
    const value = point.value as number;
    const y = span === 0 ? height / 2 : pad + ((max - value) / span) * (height - 2 * pad);
    const x = numeric.length > 1 ? pad + i * stepX : width / 2;
    return { x: round(x), y: round(y), value, point };
  });
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The `d` attribute of the line through the points. */
export function sparkPath(points: ISparkPoint[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x},${p.y}`).join(' ');
}

/** Draw the sparkline of a history; each point's `title` names its run, its UTC time and its value. */
export function sparkline(
  points: IHistoryPoint[],
  label: string,
  width = 220,
  height = 48
): SVGSVGElement {
  const placed = sparkPoints(points, width, height);
  const svg = s('svg', {
    className: 'jp-TaskValues-sparkline',
    attrs: {
      viewBox: `0 0 ${width} ${height}`,
      width: String(width),
      height: String(height),
      role: 'img',
      'aria-label': label
    }
  });
  svg.appendChild(
    s('path', {
      className: 'jp-TaskValues-sparkLine',
      attrs: { d: sparkPath(placed), fill: 'none' }
    })
  );
  for (const p of placed) {
    const dot = s('circle', {
      className: 'jp-TaskValues-sparkDot',
      attrs: { cx: String(p.x), cy: String(p.y), r: '2.5', 'data-point-run-id': p.point.run_id }
    });
    dot.appendChild(
      s('title', { text: `${p.value} · ${p.point.run_id} · ${utcTitle(p.point.start_time)}` })
    );
    svg.appendChild(dot);
  }
  return svg;
}
