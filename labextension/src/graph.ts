import { s } from './dom';
import { ITaskDocument } from './tokens';

const NODE_W = 120;
const NODE_H = 28;
const GAP_X = 16;
const GAP_Y = 30;
const PAD = 8;

/** The CSS modifier of a task or run state (`jp-TaskValues-state-success`...). */
export function stateClass(state: string | null | undefined): string {
  const name = (state ?? 'PENDING').toLowerCase().replace(/_/g, '-');
  return `jp-TaskValues-state-${name}`;
}

/** Assign each task a layer: 0 without dependencies, else one more than its deepest dependency. */
export function layers(tasks: Record<string, ITaskDocument>): string[][] {
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (key: string): number => {
    const known = depth.get(key);
    if (known !== undefined) {
      return known;
    }
    if (visiting.has(key)) {
      return 0; // a cycle cannot be in a valid job; draw it flat rather than loop
    }
    visiting.add(key);
    const deps = (tasks[key]?.depends_on ?? []).filter(d => d.task_key in tasks);
    const value = deps.length === 0 ? 0 : 1 + Math.max(...deps.map(d => depthOf(d.task_key)));
    visiting.delete(key);
    depth.set(key, value);
    return value;
  };
  const result: string[][] = [];
  for (const key of Object.keys(tasks)) {
    const d = depthOf(key);
    (result[d] ??= []).push(key);
  }
  return result.filter(layer => layer !== undefined);
}

function shorten(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

/**
 * Draw the task graph of a run as an SVG: layers top to bottom, an arrow per `depends_on`, each task a
 * box coloured by its state. Clicking (or Enter on) a box calls `onSelect` with its task key.
 */
export function taskGraph(
  tasks: Record<string, ITaskDocument>,
  selected: string | null,
  onSelect: (taskKey: string) => void
): SVGSVGElement {
  const rows = layers(tasks);
  const widest = Math.max(1, ...rows.map(r => r.length));
  const width = PAD * 2 + widest * NODE_W + (widest - 1) * GAP_X;
  const height = PAD * 2 + rows.length * NODE_H + Math.max(0, rows.length - 1) * GAP_Y;
  const position = new Map<string, { x: number; y: number }>();
  rows.forEach((row, r) => {
    const rowWidth = row.length * NODE_W + (row.length - 1) * GAP_X;
    const start = (width - rowWidth) / 2;
    row.forEach((key, i) => {
      position.set(key, { x: start + i * (NODE_W + GAP_X), y: PAD + r * (NODE_H + GAP_Y) });
    });
  });

  const svg = s('svg', {
    className: 'jp-TaskValues-graph',
    attrs: {
      viewBox: `0 0 ${width} ${height}`,
      width: String(width),
      role: 'group',
      'aria-label': 'Task graph'
    }
  });
  const marker = s(
    'marker',
    {
      attrs: {
        id: 'jp-TaskValues-arrow',
        viewBox: '0 0 10 10',
        refX: '10',
        refY: '5',
        markerWidth: '7',
        markerHeight: '7',
        orient: 'auto-start-reverse'
      }
    },
    [s('path', { className: 'jp-TaskValues-arrowhead', attrs: { d: 'M 0 0 L 10 5 L 0 10 z' } })]
  );
  svg.appendChild(s('defs', {}, [marker]));

  for (const [key, task] of Object.entries(tasks)) {
    const to = position.get(key);
    for (const dep of task.depends_on ?? []) {
      const from = position.get(dep.task_key);
      if (!from || !to) {
        continue;
      }
      const x1 = from.x + NODE_W / 2;
      const y1 = from.y + NODE_H;
      const x2 = to.x + NODE_W / 2;
      const y2 = to.y;
      const mid = (y1 + y2) / 2;
      const edge = s('path', {
        className: 'jp-TaskValues-edge',
        attrs: {
          d: `M ${x1} ${y1} C ${x1} ${mid}, ${x2} ${mid}, ${x2} ${y2 - 1}`,
          'marker-end': 'url(#jp-TaskValues-arrow)'
        }
      });
      svg.appendChild(edge);
      if (dep.outcome) {
        svg.appendChild(
          s('text', {
            className: 'jp-TaskValues-edgeLabel',
            text: dep.outcome,
            attrs: { x: String((x1 + x2) / 2 + 4), y: String(mid) }
          })
        );
      }
    }
  }

  for (const [key, task] of Object.entries(tasks)) {
    const p = position.get(key);
    if (!p) {
      continue;
    }
    const classes = ['jp-TaskValues-node', stateClass(task.state)];
    if (key === selected) {
      classes.push('jp-mod-selected');
    }
    const node = s(
      'g',
      {
        className: classes.join(' '),
        attrs: {
          transform: `translate(${p.x} ${p.y})`,
          tabindex: '0',
          role: 'button',
          'data-task-key': key,
          'data-state': task.state,
          'aria-label': `Task ${key}: ${task.state}`
        },
        onClick: () => onSelect(key)
      },
      [
        s('title', { text: `${key} — ${task.state}` }),
        s('rect', { attrs: { width: String(NODE_W), height: String(NODE_H), rx: '5', ry: '5' } }),
        s('text', {
          text: shorten(key, 16),
          attrs: {
            x: String(NODE_W / 2),
            y: String(NODE_H / 2),
            'dominant-baseline': 'central',
            'text-anchor': 'middle'
          }
        })
      ]
    );
    node.addEventListener('keydown', (event: KeyboardEvent) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        onSelect(key);
      }
    });
    svg.appendChild(node);
  }
  return svg;
}
