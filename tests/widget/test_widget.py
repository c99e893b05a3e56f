"""The Output panel widget: what it shows, that it escapes, how it follows a live run, what it picks to show.

Runs are built with the store's own API (as the runner writes them); the widget is built in-process, where
ipywidgets works without a frontend, and the assertions read the widgets' state. One test drives a real kernel
to see the panel's updates leave through IOPub from its polling thread.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

from jupyter_taskvalues import context, run_job
from jupyter_taskvalues.exceptions import (
    InvalidRunIdError,
    RunNotFoundError,
    TaskNotFoundError,
    ValueNotFoundError,
)
from jupyter_taskvalues.runtime import session
from jupyter_taskvalues.store import RunStore, utcnow
from jupyter_taskvalues.widget import render
from jupyter_taskvalues.widget.panel import SESSION, RunPanel, resolve_target
from jupyter_taskvalues.widget.render import task_layers
from tests.jobhelpers import job, nb_task, notebook

HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"

TASKS: dict[str, dict[str, Any]] = {
    "ingest": {"type": "notebook", "depends_on": [], "notebook_path": "ingest.ipynb"},
    "check": {"type": "condition", "depends_on": [{"task_key": "ingest", "outcome": None}]},
    "train": {"type": "notebook", "depends_on": [{"task_key": "check", "outcome": "true"}]},
    "report": {"type": "notebook", "depends_on": [{"task_key": "train"}, {"task_key": "ingest"}]},
}


@pytest.fixture(autouse=True)
def _clean_session() -> Iterator[None]:
    session.clear_session()
    session.detach()
    yield
    session.clear_session()
    session.detach()


@pytest.fixture
def panels() -> Iterator[list[RunPanel]]:
    """Panels made by a test; closed (their pollers stopped) afterwards."""
    made: list[RunPanel] = []
    yield made
    for panel in made:
        panel.close()


def make_run(store: RunStore, *, job_name: str = "etl", state: str = "RUNNING", **fields: Any) -> str:
    run_id = store.create_run(
        job_name=job_name,
        tasks=fields.pop("tasks", TASKS),
        parameters={"env": "dev"},
        run_id=fields.pop("run_id", None),
    )
    store.update_run(run_id, state=state, start_time=utcnow(), **fields)
    return run_id


def finish_task(store: RunStore, run_id: str, task_key: str, state: str = "SUCCESS", **record: Any) -> None:
    store.write_task(
        run_id,
        task_key,
        {
            "state": state,
            "start_time": "2026-11-29T04:47:35.000Z",
            "end_time": "2026-11-29T04:47:37.500Z",
            "attempts": [{"attempt": 1, "state": state, "start_time": "2026-11-29T04:47:35.000Z"}],
            **record,
        },
    )


def panel_html(panel: RunPanel) -> str:
    return "\n".join(
        w.value
        for w in (panel.status, panel.header, panel.graph, panel.task_view, panel.value_view)
        if isinstance(w.value, str)
    )


def picker_labels(picker: Any) -> list[str]:
    return [label for label, _value in picker.options]


# -- what it shows -----------------------------------------------------------------------------------------


def test_panel_shows_job_name_state_duration_and_every_task_state(
    store: RunStore, panels: list[RunPanel]
) -> None:
    run_id = make_run(store, state="SUCCESS", end_time="2099-01-01T00:00:00.000Z")
    store.update_run(run_id, start_time="2026-11-29T04:47:35.000Z", end_time="2026-11-29T04:49:40.000Z")
    finish_task(store, run_id, "ingest")
    finish_task(store, run_id, "check", outcome="true")
    finish_task(store, run_id, "train", "FAILED", error="boom")
    store.write_task(run_id, "report", {"state": "UPSTREAM_FAILED"})

    panel = RunPanel(run_id, runs_dir=store.root)
    panels.append(panel)

    assert "etl" in panel.header.value
    assert 'data-state="SUCCESS"' in panel.header.value
    assert "2 min 05 s" in panel.header.value
    assert run_id in panel.header.value
    graph = panel.graph.value
    for key, state in [
        ("ingest", "SUCCESS"),
        ("check", "SUCCESS"),
        ("train", "FAILED"),
        ("report", "UPSTREAM_FAILED"),
    ]:
        assert f'data-task="{key}" data-state="{state}"' in graph
    assert "#c62828" in graph  # failed tasks are red
    assert picker_labels(panel.task_picker) == [
        "ingest — SUCCESS",
        "check — SUCCESS",
        "train — FAILED",
        "report — UPSTREAM_FAILED",
    ]
    assert panel.task_key == "train"  # the failed task is selected first
    assert not panel.polling


def test_times_are_time_elements_for_the_browser_to_localise_and_read_utc_until_it_does(
    store: RunStore, panels: list[RunPanel]
) -> None:
    run_id = make_run(store, state="SUCCESS")
    # Another offset is the same moment in UTC: the text and the datetime say 04:47:35 UTC.
    store.update_run(run_id, start_time="2026-11-29T05:47:35.120+01:00", end_time="2026-11-29T04:49:40.000Z")
    finish_task(store, run_id, "ingest")
    set_at = store.set_value(run_id, "ingest", "rows", 3).set_at

    panel = RunPanel(run_id, runs_dir=store.root, task_key="ingest")
    panels.append(panel)

    started = (
        '<time class="jtv-time" datetime="2026-11-29T04:47:35.120Z" title="2026-11-29 04:47:35 UTC">'
        "2026-11-29 04:47:35 UTC</time>"
    )
    assert f"started {started}" in panel.header.value
    assert f'<time class="jtv-time" datetime="{set_at}"' in panel.task_view.value
    panel.select_value("rows")
    assert f'set <time class="jtv-time" datetime="{set_at}"' in panel.value_view.value
    # The run picker's labels are plain text (a Dropdown): UTC, and labelled so.
    assert any(label.endswith(" · 2026-11-29 04:47:35 UTC") for label in picker_labels(panel.run_picker))


def test_a_time_that_does_not_parse_is_escaped_text_and_no_time_element() -> None:
    assert render.time_html(HOSTILE) == ESCAPED
    assert render.time_html(None) == "—"
    assert render.format_time("yesterday") == "yesterday"


def test_task_graph_layers_follow_depends_on_and_label_condition_branches(store: RunStore) -> None:
    assert task_layers(TASKS) == [["ingest"], ["check"], ["train"], ["report"]]
    assert task_layers({"a": {}, "b": {}, "c": {"depends_on": [{"task_key": "a"}, {"task_key": "b"}]}}) == [
        ["a", "b"],
        ["c"],
    ]
    # a cycle (which job validation rejects) or an unknown dependency never breaks the drawing
    assert task_layers(
        {
            "x": {"depends_on": [{"task_key": "y"}]},
            "y": {"depends_on": [{"task_key": "x"}, {"task_key": "gone"}]},
        }
    ) == [["x", "y"]]

    run_id = make_run(store)
    panel = RunPanel(run_id, runs_dir=store.root, live=False)
    try:
        assert panel.graph.value.count('class="jtv-edge"') == 4  # one edge per dependency
        assert ">true</text>" in panel.graph.value  # the condition branch taken by 'train'
    finally:
        panel.close()


def test_hostile_strings_from_the_run_render_as_text_and_never_as_markup(
    store: RunStore, panels: list[RunPanel]
) -> None:
    tasks: dict[str, dict[str, Any]] = {
        HOSTILE: {"depends_on": []},
        "after": {"depends_on": [{"task_key": HOSTILE, "outcome": HOSTILE}]},
    }
    run_id = store.create_run(job_name=HOSTILE, tasks=tasks, parameters={HOSTILE: HOSTILE})
    store.update_run(run_id, state="FAILED", start_time=utcnow(), source=HOSTILE)
    finish_task(
        store,
        run_id,
        HOSTILE,
        "FAILED",
        parameters={HOSTILE: HOSTILE},
        exit_value=HOSTILE,
        error={"ename": HOSTILE, "evalue": HOSTILE, "traceback": [f"\x1b[31m{HOSTILE}\x1b[0m"]},
        notebook_path=HOSTILE,
        output_notebook=HOSTILE,
        outcome=HOSTILE,
    )
    store.set_value(run_id, HOSTILE, HOSTILE, HOSTILE)
    store.set_value(run_id, HOSTILE, "nested", {HOSTILE: [HOSTILE]})
    store.write_task(run_id, "after", {"state": "FAILED", "error": HOSTILE})

    panel = RunPanel(run_id, runs_dir=store.root)
    panels.append(panel)
    panel.select_value(HOSTILE)
    shown = [panel_html(panel)]
    panel.select_value("nested")
    shown.append(panel.value_view.value)
    panel.select_task("after")
    shown.append(panel_html(panel))

    for html in shown:
        assert "<img" not in html
    assert ESCAPED in shown[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown[1]
    assert "\x1b" not in shown[0]  # terminal colours are stripped from tracebacks
    # the pickers carry run strings only as Dropdown labels, which the browser shows as text
    assert all(
        type(p).__name__ == "Dropdown" for p in (panel.run_picker, panel.task_picker, panel.value_picker)
    )


def test_selecting_a_task_shows_its_values_parameters_exit_value_error_and_attempts(
    store: RunStore, panels: list[RunPanel]
) -> None:
    run_id = make_run(store, state="FAILED")
    finish_task(store, run_id, "ingest", parameters={"date": "2026-11-29"}, exit_value="done: 1204 rows")
    store.set_value(run_id, "ingest", "rows", 1204)
    store.set_value(run_id, "ingest", "tables", ["a", "b", "c"])
    store.set_value(run_id, "ingest", "long", "x" * 500)
    # 'train' failed once, was retried, and failed again
    store.set_value(run_id, "train", "first_try", 1)
    store.archive_attempt(run_id, "train", 1)
    store.set_value(run_id, "train", "second_try", 2, attempt=2)
    store.write_task(
        run_id,
        "train",
        {
            "state": "FAILED",
            "attempts": [
                {"attempt": 1, "state": "FAILED", "error": {"ename": "MemoryError", "evalue": "first"}},
                {"attempt": 2, "state": "FAILED", "error": {"ename": "KeyError", "evalue": "'label'"}},
            ],
            "error": {
                "ename": "KeyError",
                "evalue": "'label'",
                "traceback": ["Traceback ...", "KeyError: 'label'"],
            },
        },
    )

    panel = RunPanel(run_id, runs_dir=store.root)
    panels.append(panel)
    panel.select_task("ingest")
    view = panel.task_view.value
    assert "<code" in view and ">rows</code>" in view
    assert ">1204</span>" in view and "integer" in view
    assert "array (3)" in view
    assert "x" * 78 + "…" in view and "x" * 100 not in view  # previews are cut
    assert "502 B" in view  # the JSON size
    assert "2026-11-29" in view  # parameters, and when each value was set
    assert "done: 1204 rows" in view
    assert 'data-selected="true"' in panel.graph.value.split('data-task="ingest"', 1)[1].split("</g>", 1)[0]
    assert [label for label, _ in panel.value_picker.options][1:] == ["long", "rows", "tables"]

    panel.select_task("train")
    view = panel.task_view.value
    assert "KeyError" in view and "&#x27;label&#x27;" in view
    assert "Attempts (2)" in view and "MemoryError: first" in view
    assert ">second_try</code>" in view and "first_try" not in view

    with pytest.raises(TaskNotFoundError, match="'nope' is not part of the run"):
        panel.select_task("nope")


def test_a_value_is_shown_in_full_as_pretty_json_on_demand(store: RunStore, panels: list[RunPanel]) -> None:
    run_id = make_run(store, state="SUCCESS")
    finish_task(store, run_id, "ingest")
    value = {"model": "rf", "scores": [0.91, 0.88], "params": {"depth": 7}}
    store.set_value(run_id, "ingest", "best", value)
    panel = RunPanel(run_id, runs_dir=store.root, task_key="ingest")
    panels.append(panel)

    assert panel.value_view.value == ""
    panel.select_value("best")
    shown = panel.value_view.value
    pretty = json.dumps(value, indent=2).replace('"', "&quot;")
    assert pretty in shown
    assert "object (3 keys)" in shown
    with pytest.raises(ValueNotFoundError, match="has no value 'missing'"):
        panel.select_value("missing")


def test_for_each_iterations_and_their_values_are_listed(store: RunStore, panels: list[RunPanel]) -> None:
    tasks = {"loop": {"type": "for_each", "depends_on": []}}
    run_id = make_run(store, tasks=tasks, state="SUCCESS")
    finish_task(
        store,
        run_id,
        "loop",
        iterations=[
            {"index": 0, "input": "eu", "state": "SUCCESS", "exit_value": "ok"},
            {"index": 1, "input": {"region": "us"}, "state": "FAILED", "error": "ValueError: no data"},
        ],
    )
    store.set_value(run_id, "loop", "rows", 10, iteration=0)
    store.set_value(run_id, "loop", "rows", 0, iteration=1)

    panel = RunPanel(run_id, runs_dir=store.root)
    panels.append(panel)
    view = panel.task_view.value
    assert "Iterations (2)" in view
    assert "&quot;eu&quot;" in view and "ValueError: no data" in view
    assert "2 iterations" in panel.graph.value
    assert picker_labels(panel.value_picker)[1:] == ["rows (iteration 0)", "rows (iteration 1)"]
    panel.select_value("rows", iteration=1)
    assert "iteration 1" in panel.value_view.value and ">0</pre>" in panel.value_view.value


def test_a_run_made_by_the_runner_shows_its_values_error_and_exit_value_as_text(
    tmp_path: Path, runs_dir: Path, panels: list[RunPanel]
) -> None:
    notebook(
        tmp_path / "produce.ipynb",
        f"dbutils.jobs.taskValues.set('html', {HOSTILE!r})\ndbutils.notebook.exit('<b>done</b>')",
    )
    notebook(tmp_path / "fail.ipynb", "raise ValueError('<script>bad</script>')")
    path = job(
        tmp_path / "job.json",
        [
            nb_task("produce", "produce", base_parameters={"p": "<i>x</i>"}),
            nb_task("fail", "fail", depends_on=["produce"]),
            nb_task("after", "fail", depends_on=["fail"]),
        ],
        name="<b>hostile job</b>",
    )
    run = run_job(path)

    panel = RunPanel.for_current()
    panels.append(panel)
    assert (panel.reason, panel.run_id) == ("latest", run["run_id"])
    assert "&lt;b&gt;hostile job&lt;/b&gt;" in panel.header.value
    assert 'data-state="FAILED"' in panel.header.value
    assert 'data-task="after" data-state="UPSTREAM_FAILED"' in panel.graph.value
    assert panel.task_key == "fail"
    assert "ValueError: &lt;script&gt;bad&lt;/script&gt;" in panel.task_view.value
    panel.select_task("produce")
    panel.select_value("html")
    shown = panel_html(panel)
    assert ESCAPED in panel.task_view.value and ESCAPED in panel.value_view.value
    assert "&lt;i&gt;x&lt;/i&gt;" in panel.task_view.value
    assert "&lt;b&gt;done&lt;/b&gt;" in panel.task_view.value
    assert "notebooks/produce.ipynb" in panel.task_view.value
    for tag in ("<img", "<script", "<b>", "<i>"):
        assert tag not in shown


# -- following a live run ----------------------------------------------------------------------------------


def test_refresh_picks_up_a_new_value_while_the_run_is_running(
    store: RunStore, panels: list[RunPanel]
) -> None:
    run_id = make_run(store)
    store.write_task(run_id, "ingest", {"state": "RUNNING", "start_time": utcnow()})
    panel = RunPanel(run_id, runs_dir=store.root, live=False)
    panels.append(panel)
    assert panel.task_key == "ingest"
    assert "No values set." in panel.task_view.value
    assert "running for" in panel.header.value

    assert panel.refresh() is False  # nothing changed: no document rebuilt
    store.set_value(run_id, "ingest", "rows", 1204)
    assert panel.refresh() is True
    assert ">rows</code>" in panel.task_view.value
    assert "1 value" in panel.header.value and "1 values" not in panel.header.value
    assert panel.refresh() is False

    finish_task(store, run_id, "ingest")
    assert panel.refresh() is True
    assert picker_labels(panel.task_picker)[0] == "ingest — SUCCESS"


def test_the_poll_step_says_stop_once_the_run_ends(store: RunStore, panels: list[RunPanel]) -> None:
    run_id = make_run(store, state="PENDING")
    panel = RunPanel(run_id, runs_dir=store.root, live=False)
    panels.append(panel)
    assert panel.is_live
    assert panel.poll_once() is True
    store.update_run(run_id, state="RUNNING")
    assert panel.poll_once() is True
    store.update_run(run_id, state="SUCCESS", end_time=utcnow())
    assert panel.poll_once() is False
    assert 'data-state="SUCCESS"' in panel.header.value
    assert "etl · SUCCESS" in picker_labels(panel.run_picker)[0]


def test_the_background_poller_shows_changes_and_stops_when_the_run_ends(
    store: RunStore, panels: list[RunPanel]
) -> None:
    run_id = make_run(store)
    panel = RunPanel(run_id, runs_dir=store.root, poll_interval=0.01)
    panels.append(panel)
    assert panel.polling
    assert "Following the run live" in panel.status.value

    store.set_value(run_id, "ingest", "rows", 7)
    store.update_run(run_id, state="SUCCESS", end_time=utcnow())
    wait_until(lambda: not panel.polling)
    assert 'data-state="SUCCESS"' in panel.header.value
    assert "1 value" in panel.header.value and "1 values" not in panel.header.value
    assert panel.status.value == ""


def test_the_poller_stops_when_the_runner_process_died(store: RunStore, panels: list[RunPanel]) -> None:
    runner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with open(f"/proc/{runner.pid}/stat", encoding="ascii") as f:
            started = f.read().rsplit(")", 1)[1].split()[19]
        identity = {"host": socket.gethostname(), "pid": runner.pid, "started": started}
        run_id = store.create_run(job_name="etl", tasks=TASKS, extra={"state": "RUNNING", "runner": identity})
        panel = RunPanel(run_id, runs_dir=store.root, live=False)
        panels.append(panel)
        assert panel.poll_once() is True
    finally:
        runner.kill()
        runner.wait()
    assert panel.poll_once() is False
    assert 'data-state="INTERRUPTED"' in panel.header.value


def test_close_stops_the_poller_of_a_live_run(store: RunStore) -> None:
    run_id = make_run(store)
    panel = RunPanel(run_id, runs_dir=store.root, poll_interval=0.01)
    assert panel.polling
    panel.close()
    assert not panel.polling


def wait_until(condition: Any, attempts: int = 1000) -> None:
    """Wait, a bounded number of short sleeps, for a background thread to get somewhere."""
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("the condition never became true")


# -- the run picker ----------------------------------------------------------------------------------------


def test_run_picker_lists_recent_runs_newest_first_and_switches_run(
    store: RunStore, panels: list[RunPanel]
) -> None:
    old = make_run(store, job_name="first", state="SUCCESS", run_id="20260101-000000-000-aaaaaa")
    ids = [
        store.create_run(job_name=f"job{i}", tasks=TASKS, run_id=f"2026010{i}-000000-000-bbbbbb")
        for i in (2, 3)
    ]
    panel = RunPanel(ids[0], runs_dir=store.root)
    panels.append(panel)

    options = panel.run_picker.options
    assert [value for _label, value in options] == [ids[1], ids[0], old, SESSION]
    assert options[0][0].startswith("job3 · PENDING · ")
    assert panel.run_picker.value == ids[0]

    assert panel.polling  # job2 is PENDING
    panel.run_picker.value = ids[1]
    assert panel.run_id == ids[1]
    assert "job3" in panel.header.value
    with pytest.raises(RunNotFoundError):
        panel.show("20200101-000000-000-ffffff")
    assert (panel.run_id, panel.polling) == (ids[1], True)  # unchanged, still following job3
    panel.run_picker.value = old
    assert (panel.run_id, panel.polling, panel.status.value) == (old, False, "")
    panel.run_picker.value = SESSION
    assert panel.run_id is None
    assert "Interactive session" in panel.header.value


def test_run_picker_keeps_an_older_run_it_shows_and_makes_the_run_list_fresh_on_refresh(
    store: RunStore, panels: list[RunPanel]
) -> None:
    first = make_run(store, job_name="first", state="SUCCESS")
    for _ in range(3):
        make_run(store, job_name="later", state="SUCCESS")
    panel = RunPanel(first, runs_dir=store.root, recent=2)
    panels.append(panel)
    assert panel.run_picker.options[0][1] == first
    assert len(panel.run_picker.options) == 4

    newest = make_run(store, job_name="newest", state="SUCCESS")
    panel.refresh_button.click()
    assert newest in [value for _label, value in panel.run_picker.options]


# -- what for_current picks --------------------------------------------------------------------------------


def test_for_current_prefers_a_given_run_then_current_attached_latest_and_session(
    store: RunStore, panels: list[RunPanel], monkeypatch: pytest.MonkeyPatch
) -> None:
    # nothing at all: the interactive session
    target = resolve_target()
    assert (target.reason, target.run_id, target.runs_dir) == ("session", None, str(store.root))
    session.set_session_value("draft", {"rows": 3})
    panel = RunPanel.for_current(live=False)
    panels.append(panel)
    assert (panel.reason, panel.run_id) == ("session", None)
    assert ">draft</code>" in panel.header.value and "not part of any run" in panel.header.value

    older = make_run(store, state="SUCCESS")
    newer = make_run(store, state="SUCCESS")
    panel = RunPanel.for_current(live=False)
    panels.append(panel)
    assert (panel.reason, panel.run_id) == ("latest", newer)

    session.attach(older, "train")
    panel = RunPanel.for_current(live=False)
    panels.append(panel)
    assert (panel.reason, panel.run_id, panel.task_key) == ("attached", older, "train")

    this_task = make_run(store)
    monkeypatch.setenv(context.ENV_PREFIX + "RUN_ID", this_task)
    monkeypatch.setenv(context.ENV_PREFIX + "TASK_KEY", "report")
    panel = RunPanel.for_current(live=False)
    panels.append(panel)
    assert (panel.reason, panel.run_id, panel.task_key) == ("current", this_task, "report")

    panel = RunPanel.for_current(older, live=False)
    panels.append(panel)
    assert (panel.reason, panel.run_id) == ("given", older)
    assert resolve_target("latest").run_id == this_task


def test_for_current_with_an_unknown_or_invalid_run_id_raises_before_building_anything(
    store: RunStore,
) -> None:
    make_run(store)
    with pytest.raises(RunNotFoundError, match="No run '20200101-000000-000-ffffff'"):
        RunPanel.for_current("20200101-000000-000-ffffff")
    with pytest.raises(InvalidRunIdError):
        RunPanel.for_current("../../etc")


def test_for_current_uses_the_runs_directory_given(tmp_path: Path, panels: list[RunPanel]) -> None:
    elsewhere = RunStore(tmp_path / "elsewhere")
    run_id = make_run(elsewhere, job_name="far", state="SUCCESS")
    panel = RunPanel.for_current(runs_dir=str(elsewhere.root))
    panels.append(panel)
    assert (panel.reason, panel.run_id) == ("latest", run_id)
    assert "far" in panel.header.value


def test_session_panel_follows_values_set_in_this_kernel(store: RunStore, panels: list[RunPanel]) -> None:
    panel = RunPanel(None, runs_dir=store.root, live=False)
    panels.append(panel)
    assert "No values set yet" in panel.header.value
    assert panel.graph.layout.display == "none"
    assert panel.refresh() is False
    session.set_session_value("threshold", 0.75)
    assert panel.refresh() is True
    assert ">threshold</code>" in panel.header.value and "number" in panel.header.value
    panel.select_value("threshold")
    assert ">0.75</pre>" in panel.value_view.value


# -- imports -----------------------------------------------------------------------------------------------


def test_the_widget_module_is_imported_only_when_a_panel_is_asked_for() -> None:
    code = textwrap.dedent(
        """
        import sys
        import jupyter_taskvalues, jupyter_taskvalues.ipython.magics, jupyter_taskvalues.runtime.dbutils
        assert "jupyter_taskvalues.widget" not in sys.modules
        assert "ipywidgets" not in sys.modules
        import jupyter_taskvalues.widget
        heavy = ("jupyter_taskvalues.jobs", "jupyter_taskvalues.cli", "jupyter_taskvalues.server", "tornado")
        loaded = sorted(m for m in sys.modules if m.startswith(heavy))
        assert not loaded, loaded
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- in a real kernel --------------------------------------------------------------------------------------


def test_taskvalue_show_in_a_kernel_displays_the_panel_and_its_thread_sends_updates(store: RunStore) -> None:
    run_id = make_run(store, job_name="live-job")
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env={**os.environ, context.RUNS_DIR_ENV: str(store.root)})
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        messages = execute(client, f"%load_ext jupyter_taskvalues\n%taskvalue show {run_id}")
        shown = [m for m in messages if m["msg_type"] == "display_data"]
        assert shown and "application/vnd.jupyter.widget-view+json" in shown[0]["content"]["data"]
        assert any(
            "live-job" in json.dumps(m["content"]) for m in messages if m["msg_type"].startswith("comm_")
        )

        store.set_value(run_id, "ingest", "marker", "value-from-the-runner")
        update = wait_for_iopub(
            client, lambda m: m["msg_type"] == "comm_msg" and "value-from-the-runner" in str(m)
        )
        assert update["content"]["data"]["method"] == "update"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def execute(client: Any, code: str) -> list[dict[str, Any]]:
    msg_id = client.execute(code)
    messages = []
    while True:
        message = client.get_iopub_msg(timeout=60)
        if message["parent_header"].get("msg_id") == msg_id:
            messages.append(message)
            if message["msg_type"] == "error":
                raise AssertionError("\n".join(message["content"]["traceback"]))
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                return messages


def wait_for_iopub(client: Any, wanted: Any, attempts: int = 600) -> dict[str, Any]:
    for _ in range(attempts):
        try:
            message: dict[str, Any] = client.get_iopub_msg(timeout=0.1)
        except queue.Empty:
            continue
        if wanted(message):
            return message
    raise AssertionError("the kernel sent no such message")
