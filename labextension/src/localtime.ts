/**
 * Times of the ipywidgets Output panel (`%taskvalue show`) in the browser's local time zone.
 *
 * The widget's HTML is made in the kernel, which cannot know the browser's time zone: it writes each time
 * as `<time class="jtv-time" datetime="2026-11-29T04:47:35.123Z">2026-11-29 04:47:35 UTC</time>`, UTC and
 * labelled so wherever this extension is absent. Here every such element that appears in the page is
 * rewritten as the side panel shows times: in local time (or UTC, as the "Time format" setting says), the
 * exact UTC time in its `title`. "Relative" shows local time in the widget: a widget whose run has ended
 * is not drawn again, so "3 min ago" would go stale.
 *
 * The run picker's entries are a `<select>`'s options, plain text that can hold no element: an option of
 * the Output panel's run picker whose text ends with a time written `2026-11-29 04:47:35 UTC` gets that
 * time rewritten the same way, the UTC time kept in its `title` and in `data-jtv-utc`.
 */
import { TimeFormat, formatTime, utcTitle } from './format';

/** The elements the Output panel writes for a time. */
export const TIME_SELECTOR = 'time.jtv-time[datetime]';

/** The Output panel's run picker (`jupyter_taskvalues.widget.panel` gives it this class). */
export const PICKER_SELECTOR = '.jtv-run-picker';

/** The run picker's entries. */
export const OPTION_SELECTOR = `${PICKER_SELECTOR} select option`;

/** A UTC time at the end of an option's text (ipywidgets writes an option's spaces as no-break spaces). */
const OPTION_TIME = /(\d{4}-\d\d-\d\d)[ \u00a0](\d\d:\d\d:\d\d)[ \u00a0]UTC$/;

/** Rewrite one `<time>` element; it is left as it is when its `datetime` does not parse. */
function localiseTime(element: Element, format: TimeFormat): void {
  const stamp = element.getAttribute('datetime');
  const title = utcTitle(stamp);
  if (!stamp || title === stamp) {
    return;
  }
  const text = formatTime(stamp, format === 'utc' ? 'utc' : 'local');
  if (element.textContent !== text) {
    element.textContent = text;
  }
  if (element.getAttribute('title') !== title) {
    element.setAttribute('title', title);
  }
}

/** Rewrite the time that ends one run picker entry; an entry without one is left as it is. */
function localiseOption(option: Element, format: TimeFormat): void {
  const text = option.textContent ?? '';
  let utc = option.getAttribute('data-jtv-utc');
  let shown = utc === null ? null : option.getAttribute('data-jtv-shown');
  if (utc === null || shown === null || !text.endsWith(shown)) {
    const match = OPTION_TIME.exec(text); // a new entry, or one ipywidgets wrote again
    if (!match) {
      return;
    }
    utc = `${match[1]} ${match[2]} UTC`;
    shown = match[0];
  }
  const stamp = `${utc.slice(0, 10)}T${utc.slice(11, 19)}Z`;
  const local = formatTime(stamp, format === 'utc' ? 'utc' : 'local').replace(/ /g, '\u00a0');
  option.setAttribute('data-jtv-utc', utc);
  option.setAttribute('data-jtv-shown', local);
  option.setAttribute('title', utc);
  const next = text.slice(0, text.length - shown.length) + local;
  if (next !== text) {
    option.textContent = next;
  }
}

/**
 * Rewrite the Output panel's times in `root` (itself included).
 *
 * @returns how many times were found (time elements and run picker entries)
 */
export function localiseTimes(root: Node, format: TimeFormat): number {
  if (!(root instanceof Element || root instanceof Document || root instanceof DocumentFragment)) {
    return 0;
  }
  const found: Element[] = root instanceof Element && root.matches(TIME_SELECTOR) ? [root] : [];
  found.push(...Array.from(root.querySelectorAll(TIME_SELECTOR)));
  found.forEach(element => localiseTime(element, format));
  const options: Element[] = root instanceof Element && root.matches(OPTION_SELECTOR) ? [root] : [];
  options.push(...Array.from(root.querySelectorAll(OPTION_SELECTOR)));
  options.forEach(option => localiseOption(option, format));
  return found.length + options.length;
}

/**
 * Keeps the Output panel's times under `root` local while it lives: those there now, and those every
 * later widget update writes (the `HTML` widget sets its markup as `innerHTML`, which adds new elements).
 */
export class TimeLocaliser {
  constructor(
    private readonly _root: Node,
    private _format: TimeFormat = 'local'
  ) {
    // Rewriting a time's text adds a text node only, which `_added` skips: no feedback loop. A class given
    // after the element was added (ipywidgets fills the run picker, then applies its `_dom_classes`) is
    // followed too.
    this._observer = new MutationObserver(records => this._added(records));
    this._observer.observe(_root, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ['class']
    });
    localiseTimes(_root, _format);
  }

  /** How times are shown; setting it rewrites the times already in the page (until disposed). */
  get format(): TimeFormat {
    return this._format;
  }

  set format(format: TimeFormat) {
    if (format !== this._format && !this._disposed) {
      this._format = format;
      localiseTimes(this._root, format);
    }
  }

  /** Stop following the page. */
  dispose(): void {
    this._disposed = true;
    this._observer.disconnect();
  }

  private _added(records: MutationRecord[]): void {
    for (const record of records) {
      if (record.type === 'attributes') {
        // JupyterLab changes classes all the time: only an element that became the run picker is read.
        if (record.target instanceof Element && record.target.matches(PICKER_SELECTOR)) {
          localiseTimes(record.target, this._format);
        }
        continue;
      }
      record.addedNodes.forEach(node => {
        if (node.nodeType === Node.ELEMENT_NODE) {
          localiseTimes(node, this._format);
        }
      });
    }
  }

  private readonly _observer: MutationObserver;
  private _disposed = false;
}
