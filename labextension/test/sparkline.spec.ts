import { numericPoints, sparkline, sparkPath, sparkPoints } from '../src/sparkline';
import { IHistoryPoint } from '../src/tokens';

const points = (values: unknown[]): IHistoryPoint[] =>
  values.map((value, i) => ({ run_id: `r${i}`, start_time: `2026-12-0${i + 1}T10:00:00Z`, value }));

describe('sparkline', () => {
  it('keeps only finite numbers', () => {
    expect(numericPoints(points([1, 'a', null, 2.5, true])).map(p => p.value)).toEqual([1, 2.5]);
  });

  it('puts the largest value at the top and spreads points over the width', () => {
    const placed = sparkPoints(points([0, 10, 5]), 100, 50, 5);
    expect(placed.map(p => p.x)).toEqual([5, 50, 95]);
    expect(placed.map(p => p.y)).toEqual([45, 5, 25]);
    expect(sparkPath(placed)).toBe('M5,45 L50,5 L95,25');
  });

  it('draws a flat series in the middle and one point in the centre', () => {
    expect(sparkPoints(points([3, 3]), 100, 40).map(p => p.y)).toEqual([20, 20]);
    expect(sparkPoints(points([7]), 100, 40)).toEqual([
      expect.objectContaining({ x: 50, y: 20, value: 7 })
    ]);
    expect(sparkPoints(points(['x']), 100, 40)).toEqual([]);
  });

  it('draws an SVG with a dot per number and a UTC tooltip per dot', () => {
    const svg = sparkline(points([1, 2, 3]), 'loss over 3 runs');
    expect(svg.getAttribute('aria-label')).toBe('loss over 3 runs');
    const dots = svg.querySelectorAll('circle');
    expect(dots).toHaveLength(3);
    expect(dots[2].getAttribute('data-point-run-id')).toBe('r2');
    expect(dots[0].querySelector('title')?.textContent).toBe('1 · r0 · 2026-12-01 10:00:00 UTC');
  });
});
