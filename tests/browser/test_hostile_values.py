"""Every value, key, name, parameter and message of a run is shown as text by the JupyterLab panel and by
the Output panel widget: markup in any of them never becomes an element and never runs."""

from __future__ import annotations

import json
from typing import Any

import nbformat
import pytest

from .conftest import Lab, MakeRun, open_panel, select_run, widen_side_panel

pytestmark = pytest.mark.browser

#: Markup that would run or load something if it were ever inserted as HTML; each sets ``window.__xss``.
PAYLOADS = [
    "<img src=x onerror=window.__xss=1>",
    "<script>window.__xss=2</script>",
    "<svg onload=window.__xss=3>",
    '"><img src=x onerror=window.__xss=4>',
    "' onmouseover='window.__xss=5' x='",
    '<iframe srcdoc="<script>parent.__xss=6</script>"></iframe>',
    '<a href="javascript:window.__xss=7">click</a>',
    "<style>body{display:none}</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=8>",
    "[link](javascript:window.__xss=9)",
    "{{constructor.constructor('window.__xss=10')()}}",
    "${window.__xss=11}",
    "&lt;img src=x onerror=window.__xss=12&gt;",
    "\u202e<img src=x onerror=window.__xss=13>",
    "<details open ontoggle=window.__xss=14>",
]
#: Keys must pass the key rules (no '/'), so these are the payloads without a slash.
KEYS = [p for p in PAYLOADS if "/" not in p and "\u202e" not in p][:8]
HOSTILE_TASK = "<img src=x onerror=window.__xss=20>"
#: What markup in a value would become. The panel's own icons are SVG and the widget has its own <style>, so
#: those count only with a handler or with the payload's rule.
ELEMENTS = (
    "img, script, iframe, math, details, a[href^='javascript'], "
    "[onerror], [onload], [onmouseover], [ontoggle], [srcdoc]"
)


def _hostile_run(make_run: MakeRun) -> str:
    tasks = {
        "t": {"type": "notebook", "notebook_path": PAYLOADS[0], "depends_on": []},
        HOSTILE_TASK: {
            "type": "notebook",
            "notebook_path": "x.ipynb",
            "depends_on": [{"task_key": "t", "outcome": None}],
        },
    }
    values = {key: PAYLOADS[i % len(PAYLOADS)] for i, key in enumerate(KEYS)}
    values.update({f"v{i}": payload for i, payload in enumerate(PAYLOADS)})
    values["nested"] = {payload: [payload, {"k": payload}] for payload in PAYLOADS[:5]}
    return make_run(
        PAYLOADS[1],
        tasks=tasks,
        states={"t": "FAILED", HOSTILE_TASK: "UPSTREAM_FAILED"},
        values={"t": values, HOSTILE_TASK: {"k": PAYLOADS[2]}},
        parameters={payload: payload for payload in PAYLOADS[:6]},
        task_records={
            "t": {
                "parameters": {payload: payload for payload in PAYLOADS[3:9]},
                "exit_value": PAYLOADS[4],
                "error": {"ename": PAYLOADS[0], "evalue": PAYLOADS[5], "traceback": PAYLOADS[:3]},
            }
        },
    )


def _no_markup(page: Any, root: Any, alerts: list[str]) -> None:
    page.wait_for_timeout(500)
    found = root.locator(ELEMENTS).evaluate_all("nodes => nodes.map(n => n.outerHTML.slice(0, 200))")
    assert found == []
    styles = root.locator("style").evaluate_all("nodes => nodes.map(n => n.textContent)")
    assert not [text for text in styles if "display:none}" in text.replace(" ", "")]
    assert page.evaluate("() => window.__xss") is None
    assert alerts == []


def test_the_panel_shows_every_hostile_value_key_name_and_message_as_text(
    page: Any, make_run: MakeRun
) -> None:
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    run_id = _hostile_run(make_run)

    panel = open_panel(page)
    widen_side_panel(page, 460)
    select_run(panel, run_id)
    _no_markup(page, panel, alerts)

    panel.locator('.jp-TaskValues-node[data-task-key="t"]').click()
    panel.locator(".jp-TaskValues-taskTitle", has_text="t").wait_for()
    keys = panel.locator(".jp-TaskValues-value").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert set(keys) == {*KEYS, *(f"v{i}" for i in range(len(PAYLOADS))), "nested"}
    previews = panel.locator(".jp-TaskValues-value .jp-TaskValues-preview").all_text_contents()
    for payload in PAYLOADS:
        assert any(payload in text for text in previews), payload
    for i in range(len(PAYLOADS)):  # the full JSON of each value, on demand
        row = panel.locator(f'.jp-TaskValues-value[data-key="v{i}"]')
        row.click()
        full = row.locator("pre.jp-TaskValues-json")
        full.wait_for()
        assert json.loads(full.text_content()) == PAYLOADS[i]
        _no_markup(page, panel, alerts)

    # The task whose key is markup, found by its key as data, not by a selector built from it.
    nodes = panel.locator(".jp-TaskValues-node")
    index = nodes.evaluate_all("nodes => nodes.map(n => n.dataset.taskKey)").index(HOSTILE_TASK)
    nodes.nth(index).click()
    panel.locator(".jp-TaskValues-taskTitle", has_text=HOSTILE_TASK).wait_for()
    _no_markup(page, panel, alerts)


KERNEL_READY = """() => {
    const widget = window.jupyterapp.shell.currentWidget;
    const session = widget && widget.sessionContext && widget.sessionContext.session;
    const kernel = session && session.kernel;
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""


def test_the_widget_shows_every_hostile_value_key_name_and_message_as_text(
    page: Any, make_run: MakeRun, lab: Lab
) -> None:
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    run_id = _hostile_run(make_run)
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(
        nbformat.v4.new_code_cell(f"%load_ext jupyter_taskvalues\n%taskvalue show {run_id}")
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(lab.root_dir / "hostile-widget.ipynb"))
    page.evaluate(
        "() => window.jupyterapp.commands.execute('docmanager:open', {path: 'hostile-widget.ipynb'})"
    )
    page.wait_for_function(KERNEL_READY, timeout=60_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    panel = page.locator(".jtv-panel")
    panel.locator(".jtv-header").wait_for(timeout=60_000)
    _no_markup(page, panel, alerts)
    assert PAYLOADS[1] in panel.locator(".jtv-header").text_content()

    task_select = panel.locator("select").nth(1)
    labels = [label.replace("\xa0", " ") for label in task_select.locator("option").all_text_contents()]
    task_select.select_option(index=labels.index("t — FAILED"))
    panel.locator(".jtv-task-key", has_text="t").wait_for()
    _no_markup(page, panel, alerts)
    previews = "\n".join(panel.locator(".jtv-preview").all_text_contents())
    for payload in PAYLOADS[:8]:
        assert json.dumps(payload)[:30] in previews or payload[:30] in previews, payload
    value_select = panel.locator("select").nth(2)
    for i in range(len(PAYLOADS)):
        value_select.select_option(label=f"v{i}")
        panel.locator(".jtv-json").wait_for()
        page.wait_for_function(
            "expected => document.querySelector('.jtv-json') && "
            "(() => { try { return JSON.parse(document.querySelector('.jtv-json').textContent) === expected; }"
            " catch (e) { return false; } })()",
            arg=PAYLOADS[i],
        )
        _no_markup(page, panel, alerts)

    task_select.select_option(index=labels.index(f"{HOSTILE_TASK} — UPSTREAM_FAILED"))
    panel.locator(".jtv-task-key", has_text=HOSTILE_TASK).wait_for()
    _no_markup(page, panel, alerts)
