/** Small view pieces shared by the panel's sections: state badges, times with a UTC tooltip, fact lists, tables. */
import { TranslationBundle } from '@jupyterlab/translation';

import { h } from './dom';
import { TimeFormat, formatTime, utcTitle } from './format';
import { stateClass } from './graph';

/** A state badge, coloured as the task graph and the ipywidgets Output panel colour that state. */
export function badge(state: string | null | undefined): HTMLElement {
  const label = state ?? 'UNKNOWN';
  return h('span', {
    className: `jp-TaskValues-badge ${stateClass(label)}`,
    text: label.replace(/_/g, ' ').toLowerCase(),
    title: label,
    attrs: { 'data-state': label }
  });
}

/** A `<time>` in the chosen format with the exact UTC time on hover. */
export function timeNode(
  stamp: string | null | undefined,
  format: TimeFormat,
  className = ''
): HTMLElement {
  return h('time', {
    className,
    text: formatTime(stamp, format),
    title: utcTitle(stamp),
    attrs: stamp ? { datetime: stamp } : {}
  });
}

/** A definition list of facts; a fact whose value is '' is left out; a value may be a node. */
export function facts(entries: Array<[string, string | HTMLElement]>): HTMLElement {
  return h(
    'dl',
    { className: 'jp-TaskValues-facts' },
    entries
      .filter(
        ([, value]) => value !== '' && !(value instanceof HTMLElement && value.textContent === '')
      )
      .flatMap(([name, value]) => [
        h('dt', { text: name }),
        typeof value === 'string' ? h('dd', { text: value, title: value }) : h('dd', {}, [value])
      ])
  );
}

/** A two-column table of names and values (strings as they are, anything else as JSON). */
export function table(title: string, entries: Record<string, unknown>): HTMLElement {
  const rows = Object.entries(entries).map(([name, value]) =>
    h('tr', {}, [
      h('th', { text: name, title: name, attrs: { scope: 'row' } }),
      h('td', { text: typeof value === 'string' ? value : JSON.stringify(value) })
    ])
  );
  return h('div', { className: 'jp-TaskValues-block' }, [
    h('h4', { text: title }),
    h('table', { className: 'jp-TaskValues-params' }, [h('tbody', {}, rows)])
  ]);
}

/** A small styled button with an aria label (the label, unless told otherwise). */
export function button(
  label: string,
  onClick: () => void,
  options: {
    className?: string;
    title?: string;
    aria?: string;
    accept?: boolean;
    warn?: boolean;
  } = {}
): HTMLButtonElement {
  const classes = ['jp-mod-styled', 'jp-TaskValues-action'];
  if (options.accept) {
    classes.push('jp-mod-accept');
  }
  if (options.warn) {
    classes.push('jp-mod-warn');
  }
  if (options.className) {
    classes.push(options.className);
  }
  return h('button', {
    className: classes.join(' '),
    text: label,
    title: options.title ?? label,
    attrs: { type: 'button', 'aria-label': options.aria ?? options.title ?? label },
    onClick: () => onClick()
  });
}

/** "1 value" / "2 values". */
export function valueCount(trans: TranslationBundle, count: number): string {
  return trans._n('%1 value', '%1 values', count);
}
