"""Running, cancelling, repairing and comparing jobs from the Task Values panel, in a real JupyterLab.

Every run here is a real run: the server extension's runner executes real notebooks in real kernels.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.jobhelpers import interrupt, job, nb_task, notebook, start_cli

from .conftest import Lab, open_panel, screenshot, select_run, select_task, widen_side_panel

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_MS = 120_000


def greeting_job(root: Path, name: str = "greeter") -> str:
    """A two-task job: ``greet`` sets the ``said`` value from the ``greeting`` parameter, ``score`` a number."""
    folder = root / name
    notebook(
        folder / "greet.ipynb",
        "g = dbutils.widgets.get('greeting')\nprint('said', g)\ndbutils.jobs.taskValues.set('said', g)",
    )
    notebook(
        folder / "score.ipynb",
        "x = int(dbutils.widgets.get('x'))\ndbutils.jobs.taskValues.set('score', x * 10)",
    )
    job(
        folder / f"{name}.job.json",
        [
            nb_task("greet", "greet"),
            nb_task("score", "score", depends_on=["greet"]),
        ],
        name=name,
        parameters=[{"name": "greeting", "default": "hello"}, {"name": "x", "default": "1"}],
    )
    return f"{name}/{name}.job.json"


def open_file_browser(page: Any, folder: str) -> None:
    page.evaluate(
        "folder => window.jupyterapp.commands.execute('filebrowser:go-to-path', {path: folder})", folder
    )
    page.evaluate("() => window.jupyterapp.shell.activateById('filebrowser')")


def run_state(panel: Any) -> str:
    badge = panel.locator(".jp-TaskValues-runTitle .jp-TaskValues-badge")
    return str(badge.get_attribute("data-state"))


def wait_run_state(page: Any, states: tuple[str, ...]) -> str:
    page.wait_for_function(
        """states => {
            const b = document.querySelector('#jupyter-taskvalues-panel .jp-TaskValues-runTitle .jp-TaskValues-badge');
            return b !== null && states.includes(b.dataset.state);
        }""",
        arg=list(states),
        timeout=RUN_MS,
    )
    return run_state(page.locator("#jupyter-taskvalues-panel"))


def start_from_command(page: Any, path: str) -> Any:
    """Run the "Run Job" command on ``path`` and return the dialog."""
    page.evaluate("p => { window.jupyterapp.commands.execute('taskvalues:run-job', {path: p}); }", path)
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-TaskValues-dialog").wait_for()
    return dialog


def test_run_job_from_the_context_menu_with_an_edited_parameter_runs_to_success(page: Any, lab: Lab) -> None:
    greeting_job(lab.root_dir)
    open_file_browser(page, "greeter")
    item = page.locator(".jp-DirListing-item", has_text="greeter.job.json")
    item.click()
    item.click(button="right")
    page.locator('.lm-Menu-item[data-command="taskvalues:run-job"]').click()

    dialog = page.locator(".jp-Dialog")
    greeting = dialog.locator('input[data-parameter="greeting"]')
    greeting.wait_for()
    assert greeting.input_value() == "hello"
    assert dialog.locator('input[data-parameter="x"]').input_value() == "1"
    greeting.fill("<b>hi</b>")
    screenshot(page, "run-dialog.png")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()

    panel = page.locator("#jupyter-taskvalues-panel")
    panel.wait_for(state="visible")
    widen_side_panel(page, 440)
    panel.locator(".jp-TaskValues-runTitle", has_text="greeter").wait_for()
    assert wait_run_state(page, ("SUCCESS", "FAILED")) == "SUCCESS", panel.inner_text()
    select_task(panel, "greet")
    said = panel.locator('.jp-TaskValues-value[data-key="said"] .jp-TaskValues-preview')
    assert said.text_content() == "<b>hi</b>"
    assert panel.locator(".jp-TaskValues-value b").count() == 0
    assert "said <b>hi</b>" in panel.locator("pre.jp-TaskValues-output").text_content()
    assert panel.locator(".jp-TaskValues-open").count() == 1
    [run] = [r for r in lab.store.list_runs() if r.get("job_name") == "greeter"]
    assert run["parameters"]["greeting"] == "<b>hi</b>"


def test_a_job_file_that_does_not_validate_shows_its_problems_and_starts_nothing(page: Any, lab: Lab) -> None:
    folder = lab.root_dir / "broken"
    notebook(folder / "a.ipynb", "print(1)")
    job(folder / "broken.job.json", [nb_task("a", "a", depends_on=["missing_task"])], name="broken")
    before = len(lab.store.list_runs())

    dialog = start_from_command(page, "broken/broken.job.json")

    problems = dialog.locator(".jp-TaskValues-problems li")
    problems.first.wait_for()
    assert "missing_task" in " ".join(problems.all_text_contents())
    assert dialog.locator(".jp-Dialog-button.jp-mod-accept").count() == 0
    dialog.locator(".jp-Dialog-button").click()
    page.wait_for_timeout(500)
    assert len(lab.store.list_runs()) == before


def test_cancel_a_long_task_from_the_panel(page: Any, lab: Lab) -> None:
    folder = lab.root_dir / "sleepy"
    notebook(folder / "nap.ipynb", "import time\nprint('napping', flush=True)\ntime.sleep(300)")
    job(folder / "sleepy.job.json", [nb_task("nap", "nap")], name="sleepy")

    dialog = start_from_command(page, "sleepy/sleepy.job.json")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    panel = page.locator("#jupyter-taskvalues-panel")
    panel.locator(".jp-TaskValues-runTitle", has_text="sleepy").wait_for()
    select_task(panel, "nap")
    panel.locator("pre.jp-TaskValues-output", has_text="napping").wait_for(timeout=RUN_MS)
    assert panel.locator(".jp-TaskValues-live").count() == 1
    screenshot(page, "run-live.png")

    panel.locator(".jp-TaskValues-cancelTask").click()
    assert wait_run_state(page, ("CANCELED", "FAILED", "SUCCESS")) == "CANCELED"
    node = panel.locator('.jp-TaskValues-node[data-task-key="nap"]')
    assert node.get_attribute("data-state") == "CANCELED"


def test_cancel_from_the_panel_a_run_the_cli_executes_in_another_process(page: Any, lab: Lab) -> None:
    folder = lab.root_dir / "elsewhere"
    notebook(folder / "nap.ipynb", "import time\nprint('napping', flush=True)\ntime.sleep(300)")
    notebook(folder / "after.ipynb", "print('after')")
    job(
        folder / "elsewhere.job.json",
        [nb_task("nap", "nap"), nb_task("after", "after", depends_on=["nap"])],
        name="elsewhere",
    )
    before = set(lab.store.run_ids())
    process = start_cli("run", "elsewhere.job.json", "--runs-dir", str(lab.runs_dir), cwd=folder)
    try:
        run_id = _new_run(lab, before, process)
        panel = open_panel(page)
        select_run(panel, run_id)
        select_task(panel, "nap")
        panel.locator("pre.jp-TaskValues-output", has_text="napping").wait_for(timeout=RUN_MS)

        cancel = panel.locator(".jp-TaskValues-cancelRun")
        assert "Started outside this server" in str(cancel.get_attribute("title"))
        cancel.click()
        page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-warn").click()

        assert wait_run_state(page, ("CANCELED", "FAILED", "SUCCESS")) == "CANCELED"
        nodes = {
            key: panel.locator(f'.jp-TaskValues-node[data-task-key="{key}"]').get_attribute("data-state")
            for key in ("nap", "after")
        }
        assert nodes == {"nap": "CANCELED", "after": "UPSTREAM_CANCELED"}
        assert process.wait(timeout=60) == 1  # the CLI's exit code of a run that did not succeed
        assert lab.store.read_run(run_id)["cancel_request"]["via"] == "jupyter-server"
        assert panel.locator(".jp-TaskValues-cancelRun").count() == 0
    finally:
        interrupt(process)


def _new_run(lab: Lab, before: set[str], process: subprocess.Popen[str]) -> str:
    """The id of the run ``process`` (a CLI run) creates, once its first task reads RUNNING."""
    deadline = time.monotonic() + RUN_MS / 1000
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for run_id in set(lab.store.run_ids()) - before:
            if (lab.store.read_task(run_id, "nap") or {}).get("state") == "RUNNING":
                return run_id
        time.sleep(0.2)
    raise AssertionError(f"The CLI run did not start its first task within {RUN_MS // 1000} s.")


def test_repair_a_failed_run_after_fixing_the_notebook(page: Any, lab: Lab) -> None:
    folder = lab.root_dir / "fragile"
    notebook(folder / "load.ipynb", "dbutils.jobs.taskValues.set('rows', 3)")
    notebook(folder / "check.ipynb", "rows = 3\nraise ValueError('rows must be > 5')")
    notebook(folder / "report.ipynb", "dbutils.jobs.taskValues.set('ok', True)")
    job(
        folder / "fragile.job.json",
        [
            nb_task("load", "load"),
            nb_task("check", "check", depends_on=["load"]),
            nb_task("report", "report", depends_on=["check"]),
        ],
        name="fragile",
    )
    dialog = start_from_command(page, "fragile/fragile.job.json")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    panel = page.locator("#jupyter-taskvalues-panel")
    panel.locator(".jp-TaskValues-runTitle", has_text="fragile").wait_for()
    assert wait_run_state(page, ("FAILED", "SUCCESS")) == "FAILED"
    select_task(panel, "check")
    panel.locator(".jp-TaskValues-errorBlock", has_text="rows must be > 5").wait_for()
    assert "raise ValueError" in panel.locator(".jp-TaskValues-cellSource").text_content()

    notebook(folder / "check.ipynb", "rows = 3\nprint('fixed')")
    panel.locator(".jp-TaskValues-repair").click()
    repair = page.locator(".jp-Dialog")
    boxes = repair.locator("input[data-task]")
    boxes.first.wait_for()
    checked = {b.get_attribute("data-task"): b.is_checked() for b in boxes.all()}
    assert checked == {"load": False, "check": True, "report": True}
    repair.locator(".jp-Dialog-button.jp-mod-accept").click()
    assert wait_run_state(page, ("SUCCESS",)) == "SUCCESS"
    facts = panel.locator(".jp-TaskValues-runSection .jp-TaskValues-facts").inner_text()
    assert "Repairs" in facts


def test_the_history_of_a_value_over_three_runs_is_a_sparkline(page: Any, lab: Lab) -> None:
    path = greeting_job(lab.root_dir, "scorer")
    panel = None
    for x in ("1", "3", "2"):
        dialog = start_from_command(page, path)
        dialog.locator('input[data-parameter="x"]').fill(x)
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        panel = page.locator("#jupyter-taskvalues-panel")
        page.wait_for_function(
            """x => {
                const p = document.querySelector('#jupyter-taskvalues-panel .jp-TaskValues-runSection');
                const cells = p ? [...p.querySelectorAll('.jp-TaskValues-params td')] : [];
                return p && p.textContent.includes('scorer') && cells.some(td => td.textContent === x);
            }""",
            arg=x,
        )
        assert wait_run_state(page, ("SUCCESS", "FAILED")) == "SUCCESS", panel.inner_text()
    assert panel is not None
    widen_side_panel(page, 460)
    select_task(panel, "score")
    panel.locator('.jp-TaskValues-value[data-key="score"] .jp-TaskValues-historyButton').click()
    dots = panel.locator(".jp-TaskValues-sparkline circle")
    dots.nth(2).wait_for()
    assert dots.count() == 3
    points = panel.locator(".jp-TaskValues-historyPoint .jp-TaskValues-preview").all_text_contents()
    assert points == ["20", "30", "10"]
    times = panel.locator(".jp-TaskValues-historyPoint time")
    assert times.first.get_attribute("title").endswith(" UTC")
    screenshot(page, "value-history.png")

    matrix = panel.locator(".jp-TaskValues-matrix")
    matrix.wait_for()
    assert matrix.locator("tbody tr").count() == 3
    assert matrix.locator('.jp-TaskValues-cell[data-state="SUCCESS"]').count() == 6
    matrix.scroll_into_view_if_needed()
    screenshot(page, "run-matrix.png")

    panel.locator(".jp-TaskValues-compare").select_option(index=1)
    changed = panel.locator(".jp-TaskValues-diff tr.jp-mod-changed")
    changed.first.wait_for()
    names = changed.evaluate_all("rows => rows.map(r => r.dataset.name)")
    assert "score" in names and "x" in names


def open_settings_editor(page: Any) -> Any:
    """Open JupyterLab's Settings Editor (Settings menu → Settings Editor) on the Task Values settings form."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator('.lm-Menu-item[data-command="settingeditor:open"]').click()
    # The search box is a web component: its input is in its shadow DOM, which CSS locators pierce.
    page.locator("input[placeholder^='Search settings']").fill("Task Values")
    entry = page.locator('.jp-PluginList-entry[data-id="jupyter-taskvalues:plugin"]')
    entry.get_by_role("tab", name="Task Values").click()
    form = page.locator(
        ".jp-SettingsPanel .jp-SettingsForm", has=page.get_by_role("heading", name="Task Values")
    )
    form.wait_for()
    return form


def settings_field(form: Any, title: str) -> Any:
    """The input (or select) of a settings form field, found by the title the schema gives it.

    JupyterLab's form shows each title as a heading beside the control (not as a ``<label>``).
    """
    heading = form.get_by_role("heading", name=title, exact=True)
    return heading.locator("xpath=following-sibling::div[1]").locator("input, select")


def test_a_settings_change_in_the_settings_editor_takes_effect(page: Any, lab: Lab, make_run: Any) -> None:
    make_run("older")
    make_run("newer")
    panel = open_panel(page)
    panel.locator(".jp-TaskValues-run").nth(1).wait_for()
    try:
        form = open_settings_editor(page)
        runs_shown = settings_field(form, "Runs shown")
        assert runs_shown.input_value() == "30"
        runs_shown.fill("1")
        runs_shown.press("Tab")
        settings_field(form, "Time format").select_option("utc")

        # The panel follows the saved settings without a reload: one run, its time in UTC.
        page.wait_for_function(
            "() => document.querySelectorAll('#jupyter-taskvalues-panel .jp-TaskValues-run').length === 1",
            timeout=15_000,
        )
        page.wait_for_function(
            """() => {
                const t = document.querySelector('#jupyter-taskvalues-panel .jp-TaskValues-run .jp-TaskValues-runTime');
                return t !== null && t.textContent.startsWith('2026-11-29 09:30:00 UTC');
            }""",
            timeout=15_000,
        )
        saved = json.loads(_settings(lab)["raw"])
        assert (saved["runsShown"], saved["timeFormat"]) == (1, "utc")
    finally:
        _put_settings(lab, "{}")


def _settings(lab: Lab) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{lab.url}lab/api/settings/jupyter-taskvalues:plugin",
        headers={"Authorization": f"token {lab.token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        data: dict[str, Any] = json.loads(response.read())
    return data


def _put_settings(lab: Lab, raw: str) -> None:
    request = urllib.request.Request(
        f"{lab.url}lab/api/settings/jupyter-taskvalues:plugin",
        data=json.dumps({"raw": raw}).encode(),
        method="PUT",
        headers={"Authorization": f"token {lab.token}", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()


def test_run_again_and_run_with_different_parameters_start_new_runs(page: Any, lab: Lab) -> None:
    path = greeting_job(lab.root_dir, "repeater")
    dialog = start_from_command(page, path)
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    panel = page.locator("#jupyter-taskvalues-panel")
    panel.locator(".jp-TaskValues-runTitle", has_text="repeater").wait_for()
    assert wait_run_state(page, ("SUCCESS", "FAILED")) == "SUCCESS"
    first = panel.locator(".jp-TaskValues-runSection .jp-TaskValues-facts dd").first.text_content()

    panel.locator(".jp-TaskValues-rerunWith").click()
    edit = page.locator(".jp-Dialog")
    x = edit.locator('input[data-parameter="x"]')
    assert x.input_value() == "1"
    x.fill("5")
    edit.locator(".jp-Dialog-button.jp-mod-accept").click()
    panel.locator(".jp-TaskValues-runSection .jp-TaskValues-params td", has_text="5").wait_for()
    assert wait_run_state(page, ("SUCCESS", "FAILED")) == "SUCCESS"
    second = panel.locator(".jp-TaskValues-runSection .jp-TaskValues-facts dd").first.text_content()
    assert second != first

    panel.locator(".jp-TaskValues-rerun").click()
    page.wait_for_function(
        """seen => {
            const dd = document.querySelector('#jupyter-taskvalues-panel .jp-TaskValues-runSection dd');
            return dd !== null && !seen.includes(dd.textContent);
        }""",
        arg=[first, second],
    )
    assert wait_run_state(page, ("SUCCESS", "FAILED")) == "SUCCESS"
    runs = [r for r in lab.store.list_runs() if r.get("job_name") == "repeater"]
    assert sorted(r["parameters"]["x"] for r in runs) == ["1", "5", "5"]
