/**
 * Times of the ipywidgets Output panel (`%taskvalue show`) in the browser's local time zone.
 *
 * The widget's HTML is made in the kernel, which cannot know the browser's time zone: it writes each time
 * as `<time class="jtv-time" datetime="2026-11-29T04:47:35.123Z">2026-11-29 04:47:35 UTC</time>`, UTC and
 * labelled so wherever this extension is absent. Here every such element that appears in the page is
 * rewritten as the side panel shows times: in local time (or UTC, as the "Time format" setting says), the
 * exact UTC time in its `title`. "Relative" shows local time in the widget: a widget whose run has ended
 * is not drawn again, so "3 min ago" would go stale.
 */
import { TimeFormat, formatTime, utcTitle } from './format';

/** The elements the Output panel writes for a time. */
export const TIME_SELECTOR = 'time.jtv-time[datetime]';

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

/**
 * Rewrite the Output panel's times in `root` (itself included).
 *
 * @returns how many time elements were found
 */
export function localiseTimes(root: Node, format: TimeFormat): number {
  if (!(root instanceof Element || root instanceof Document || root instanceof DocumentFragment)) {
    return 0;
  }
  const found: Element[] = root instanceof Element && root.matches(TIME_SELECTOR) ? [root] : [];
  found.push(...Array.from(root.querySelectorAll(TIME_SELECTOR)));
  found.forEach(element => localiseTime(element, format));
  return found.length;
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
    // Rewriting a time's text adds a text node only, which `_added` skips: no feedback loop.
    this._observer = new MutationObserver(records => this._added(records));
    this._observer.observe(_root, { childList: true, subtree: true });
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
