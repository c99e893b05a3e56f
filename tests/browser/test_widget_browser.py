"""``%taskvalue show`` in a notebook of a real JupyterLab: the Output panel widget, live, values as text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest

from .conftest import Lab, MakeRun, lab_page, screenshot

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.__xss=1">'
KERNEL_READY = """() => {
    const widget = window.jupyterapp.shell.currentWidget;
    const session = widget && widget.sessionContext && widget.sessionContext.session;
    const kernel = session && session.kernel;
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""


def _open_notebook(page: Any, lab: Lab, name: str, source: str) -> None:
    """Write a one-cell notebook under the lab's root, open it, and wait until its kernel is idle."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell(source))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(lab.root_dir / name))
    page.evaluate(
        f"() => window.jupyterapp.commands.execute('docmanager:open', {{path: {json.dumps(name)}}})"
    )
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name).wait_for()
    # The idle indicator can show before the kernel session exists; a cell run then would be dropped.
    page.wait_for_function(KERNEL_READY, timeout=60_000)


def test_taskvalue_show_displays_the_run_live_and_its_values_as_text(
    page: Any, make_run: MakeRun, lab: Lab
) -> None:
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    run_id = make_run(
        "income",
        state="RUNNING",
        states={"ingest": "SUCCESS", "train_logreg": "SUCCESS", "train_forest": "RUNNING"},
        values={
            "ingest": {"rows": 32561, "table": "income_clean", "html": HOSTILE},
            "train_logreg": {"accuracy": 0.8513},
            "train_forest": {"params": {"n_estimators": 200, "max_depth": 12}},
        },
        task_records={"train_forest": {"parameters": {"n_estimators": "200"}}},
    )
    _open_notebook(page, lab, "show-widget.ipynb", "%load_ext jupyter_taskvalues\n%taskvalue show")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    panel = page.locator(".jtv-panel")
    panel.locator(".jtv-job", has_text="income").wait_for(timeout=60_000)
    # With no RUN_ID the newest run is shown, and the running task is selected.
    assert run_id in panel.locator(".jtv-run").first.text_content()
    assert panel.locator('.jtv-node[data-task="ingest"]').get_attribute("data-state") == "SUCCESS"
    assert panel.locator('.jtv-node[data-task="train_forest"]').get_attribute("data-state") == "RUNNING"
    assert panel.locator('.jtv-node[data-task="best_model"]').get_attribute("data-state") == "PENDING"
    assert panel.locator(".jtv-task-key").text_content() == "train_forest"
    assert panel.locator(".jtv-parameters td", has_text="200").count() == 1

    # A value the task sets while the run is going appears without re-running the cell.
    lab.store.set_value(run_id, "train_forest", "accuracy", 0.8621)
    panel.locator(".jtv-values code", has_text="accuracy").wait_for(timeout=15_000)
    lab.store.write_task(
        run_id,
        "train_forest",
        {
            "state": "SUCCESS",
            "attempts": [{"attempt": 1, "state": "SUCCESS"}],
            "start_time": "2026-11-29T09:30:04.500Z",
            "end_time": "2026-11-29T09:30:41.200Z",
            "parameters": {"n_estimators": "200"},
        },
    )
    lab.store.write_task(run_id, "best_model", {"state": "SUCCESS", "attempts": [{"attempt": 1}]})
    lab.store.set_value(run_id, "best_model", "name", "forest")
    lab.store.update_run(run_id, state="SUCCESS", end_time="2026-11-29T09:31:00.000Z")
    panel.locator('.jtv-header .jtv-state[data-state="SUCCESS"]').wait_for(timeout=15_000)
    panel.locator('.jtv-node[data-task="train_forest"][data-state="SUCCESS"]').wait_for()

    # Another task: its values, the hostile one shown as text.
    selects = panel.locator("select")
    selects.nth(1).select_option(label="ingest — SUCCESS")
    panel.locator(".jtv-task-key", has_text="ingest").wait_for()
    previews = panel.locator(".jtv-preview").all_text_contents()
    assert json.dumps(HOSTILE) in previews
    selects.nth(2).select_option(label="html")
    panel.locator(".jtv-json", has_text="onerror").wait_for()
    assert json.loads(panel.locator(".jtv-json").text_content()) == HOSTILE
    assert panel.locator("img, script").count() == 0
    assert page.evaluate("() => window.__xss") is None
    assert alerts == []

    # Full JSON of a value on demand.
    selects.nth(1).select_option(label="train_forest — SUCCESS")
    panel.locator(".jtv-task-key", has_text="train_forest").wait_for()
    selects.nth(2).select_option(label="params")
    panel.locator(".jtv-json", has_text="max_depth").wait_for()
    assert json.loads(panel.locator(".jtv-json").text_content()) == {"n_estimators": 200, "max_depth": 12}
    page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
    panel.scroll_into_view_if_needed()
    screenshot(page, "widget.png")


@pytest.fixture
def page_in_kolkata(browser: Any, lab: Lab, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A JupyterLab page whose browser is in Asia/Kolkata (UTC+05:30 all year) and speaks en-US."""
    with lab_page(browser, lab, request.node.name, timezone_id="Asia/Kolkata", locale="en-US") as tab:
        yield tab


def test_the_widget_shows_times_in_the_browsers_time_zone_and_the_exact_utc_on_hover(
    page_in_kolkata: Any, make_run: MakeRun, lab: Lab
) -> None:
    page = page_in_kolkata
    make_run("zoned", states={"ingest": "SUCCESS"}, values={"ingest": {"rows": 3}})
    _open_notebook(page, lab, "zoned-widget.ipynb", "%load_ext jupyter_taskvalues\n%taskvalue show latest")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    panel = page.locator(".jtv-panel")
    panel.locator(".jtv-job", has_text="zoned").wait_for(timeout=60_000)
    # The run started at 09:30:00 UTC: 15:00:00 in Kolkata, written as the side panel writes it.
    started = panel.locator(".jtv-run time.jtv-time").first
    page.wait_for_function(
        "() => !document.querySelector('.jtv-run time.jtv-time').textContent.includes('UTC')", timeout=15_000
    )
    assert started.text_content() == "Nov 29, 03:00:00 PM"
    assert started.get_attribute("title") == "2026-11-29 09:30:00 UTC"
    assert started.get_attribute("datetime") == "2026-11-29T09:30:00.000Z"

    # A later update of the widget (another task picked) is rewritten too.
    panel.locator("select").nth(1).select_option(label="ingest — SUCCESS")
    set_at = panel.locator(".jtv-values time.jtv-time")
    set_at.wait_for()
    page.wait_for_function(
        "() => !document.querySelector('.jtv-values time.jtv-time').textContent.includes('UTC')",
        timeout=15_000,
    )
    assert str(set_at.get_attribute("title")).endswith(" UTC")
    # The run picker's labels are a select's text (ipywidgets writes its spaces as no-break spaces): their
    # time is rewritten too, the exact UTC time on hover.
    entry = panel.locator(".jtv-run-picker select option", has_text="zoned").first
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jtv-run-picker option')].some(o => o.title.endsWith(' UTC'))",
        timeout=15_000,
    )
    assert entry.text_content().replace("\xa0", " ").endswith(" · SUCCESS · Nov 29, 03:00:00 PM")
    assert entry.get_attribute("title") == "2026-11-29 09:30:00 UTC"
