import { formatTime } from '../src/format';
import { TimeLocaliser, localiseTimes } from '../src/localtime';

const STAMP = '2026-11-29T04:47:35.123Z';
const UTC = '2026-11-29 04:47:35 UTC';

/** The markup the Output panel widget writes for a time (jupyter_taskvalues.widget.render.time_html). */
function widgetTime(stamp: string): string {
  return `<time class="jtv-time" datetime="${stamp}" title="${UTC}">${UTC}</time>`;
}

/** Let the MutationObserver's callback run. */
const settle = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 0));

describe('localtime', () => {
  let root: HTMLElement;

  beforeEach(() => {
    root = document.createElement('div');
    document.body.appendChild(root);
  });

  afterEach(() => {
    root.remove();
  });

  it('rewrites a widget time in local time, the exact UTC time in its title', () => {
    root.innerHTML = `<div>started ${widgetTime(STAMP)}</div>`;
    expect(localiseTimes(root, 'local')).toBe(1);
    const time = root.querySelector('time')!;
    expect(time.textContent).toBe(formatTime(STAMP, 'local'));
    expect(time.textContent).not.toContain('UTC');
    expect(time.getAttribute('title')).toBe(UTC);
  });

  it('shows UTC when the setting says so, and local time for "relative"', () => {
    root.innerHTML = widgetTime(STAMP);
    localiseTimes(root, 'utc');
    expect(root.querySelector('time')!.textContent).toBe(UTC);
    localiseTimes(root, 'relative');
    expect(root.querySelector('time')!.textContent).toBe(formatTime(STAMP, 'local'));
  });

  it('leaves other time elements and a datetime that does not parse as they are', () => {
    root.innerHTML =
      '<time datetime="2026-11-29T04:47:35Z">mine</time>' +
      '<time class="jtv-time" datetime="not a time">not a time</time>';
    localiseTimes(root, 'local');
    const [other, bad] = Array.from(root.querySelectorAll('time'));
    expect(other.textContent).toBe('mine');
    expect(bad.textContent).toBe('not a time');
    expect(bad.hasAttribute('title')).toBe(false);
  });

  it('follows the markup a widget update writes, and a change of format, until disposed', async () => {
    const localiser = new TimeLocaliser(root);
    const content = document.createElement('div');
    root.appendChild(content);
    content.innerHTML = `<span>set ${widgetTime(STAMP)}</span>`;
    await settle();
    expect(content.querySelector('time')!.textContent).toBe(formatTime(STAMP, 'local'));

    localiser.format = 'utc';
    expect(content.querySelector('time')!.textContent).toBe(UTC);

    localiser.dispose();
    localiser.format = 'local';
    content.innerHTML = widgetTime(STAMP);
    await settle();
    expect(content.querySelector('time')!.textContent).toBe(UTC);
  });
  it('rewrites the time that ends a run picker entry, the UTC time on hover, and only there', async () => {
    const localiser = new TimeLocaliser(root);
    const nbsp = (text: string): string => text.replace(/ /g, '\u00a0');
    root.innerHTML =
      '<div class="jtv-panel"><div class="jtv-run-picker"><select>' +
      `<option>${nbsp(`zoned · SUCCESS · ${UTC}`)}</option>` +
      `<option>${nbsp('interactive session')}</option></select></div>` +
      `<select class="other"><option>${UTC}</option></select></div>`;
    await settle();
    const [entry, session] = Array.from(root.querySelectorAll('.jtv-run-picker option'));
    const local = nbsp(formatTime(STAMP.replace('.123', ''), 'local'));
    expect(entry.textContent).toBe(nbsp('zoned · SUCCESS · ') + local);
    expect(entry.getAttribute('title')).toBe(UTC);
    expect(session.textContent).toBe(nbsp('interactive session'));
    expect(session.hasAttribute('title')).toBe(false);
    expect(root.querySelector('.other option')!.textContent).toBe(UTC); // not the run picker's

    localiser.format = 'utc';
    expect(entry.textContent).toBe(nbsp(`zoned · SUCCESS · ${UTC}`));
    localiser.format = 'local';
    expect(entry.textContent).toBe(nbsp('zoned · SUCCESS · ') + local);

    // ipywidgets writes the options again when the run list changes: the new ones are rewritten too.
    root.querySelector('.jtv-run-picker select')!.innerHTML =
      `<option>${nbsp(`next · FAILED · ${UTC}`)}</option>`;
    await settle();
    expect(root.querySelector('.jtv-run-picker option')!.textContent).toBe(
      nbsp('next · FAILED · ') + local
    );

    // ipywidgets may fill the picker first and give it its class after: the class change is followed.
    const late = document.createElement('div');
    late.innerHTML = `<select><option>${nbsp(`late · SUCCESS · ${UTC}`)}</option></select>`;
    root.appendChild(late);
    await settle();
    late.className = 'jtv-run-picker';
    await settle();
    expect(late.querySelector('option')!.textContent).toBe(nbsp('late · SUCCESS · ') + local);
    localiser.dispose();
  });
});
