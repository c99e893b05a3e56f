"""The Task Values side panel in a real JupyterLab, driven by headless Chromium."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Lab, MakeRun, open_panel, screenshot, select_run, select_task, widen_side_panel

pytestmark = pytest.mark.browser

INCOME_VALUES: dict[str, dict[str, Any]] = {
    "ingest": {"rows": 32561, "table": "income_clean", "columns": ["age", "education", "hours_per_week"]},
    "train_logreg": {"accuracy": 0.8513, "model_path": "models/logreg.pkl"},
    "train_forest": {"accuracy": 0.8621, "model_path": "models/forest.pkl", "params": {"n_estimators": 200}},
    "best_model": {"name": "forest", "accuracy": 0.8621},
}
ALL_DONE = dict.fromkeys(INCOME_VALUES, "SUCCESS")


def test_panel_opened_from_the_palette_shows_the_values_of_a_run(
    page: Any, make_run: MakeRun, lab: Lab
) -> None:
    executed = lab.root_dir / "runs-output" / "train_forest.ipynb"
    executed.parent.mkdir(exist_ok=True)
    executed.write_text(json.dumps(_executed_notebook()))
    run_id = make_run(
        "income",
        states=ALL_DONE,
        values=INCOME_VALUES,
        task_records={
            "train_forest": {
                "parameters": {"n_estimators": "200"},
                "exit_value": "forest trained",
                "output_notebook": str(executed),
            }
        },
    )

    panel = open_panel(page, via="palette")
    widen_side_panel(page, 420)
    select_run(panel, run_id)
    select_task(panel, "train_forest")

    rows = panel.locator(".jp-TaskValues-value")
    assert rows.count() == 3
    accuracy = panel.locator('.jp-TaskValues-value[data-key="accuracy"]')
    assert accuracy.locator(".jp-TaskValues-preview").text_content() == "0.8621"
    assert accuracy.locator(".jp-TaskValues-type").text_content() == "float"
    assert accuracy.locator(".jp-TaskValues-size").text_content() == "6 B"
    assert accuracy.locator(".jp-TaskValues-setAt").text_content() != ""
    assert panel.locator(".jp-TaskValues-params td", has_text="200").count() == 1
    assert panel.locator(".jp-TaskValues-exit").text_content() == "forest trained"
    for key in INCOME_VALUES:
        node = panel.locator(f'.jp-TaskValues-node[data-task-key="{key}"]')
        assert node.get_attribute("data-state") == "SUCCESS"

    panel.locator('.jp-TaskValues-value[data-key="params"]').click()
    full = json.loads(panel.locator("pre.jp-TaskValues-json").text_content())
    assert full == {"n_estimators": 200}

    panel.locator(".jp-TaskValues-open").click()
    page.locator(".jp-NotebookPanel .jp-RenderedMarkdown", has_text="Train a random forest").wait_for()
    page.wait_for_timeout(500)
    screenshot(page, "panel.png")

    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(800)
    screenshot(page, "panel-dark.png")


def test_a_value_set_while_the_run_is_running_appears_without_reloading(
    page: Any, make_run: MakeRun, lab: Lab
) -> None:
    run_id = make_run(
        "income-live",
        state="RUNNING",
        states={"ingest": "SUCCESS", "train_logreg": "RUNNING"},
        values={"ingest": INCOME_VALUES["ingest"]},
    )
    panel = open_panel(page)
    select_run(panel, run_id)
    select_task(panel, "train_logreg")
    assert panel.locator(".jp-TaskValues-taskSection .jp-TaskValues-empty").text_content() == "No values set."
    page.evaluate("() => { window.__notReloaded = true; }")

    lab.store.set_value(run_id, "train_logreg", "accuracy", 0.8513)
    row = panel.locator('.jp-TaskValues-value[data-key="accuracy"]')
    row.wait_for(timeout=20_000)

    assert row.locator(".jp-TaskValues-preview").text_content() == "0.8513"
    assert page.evaluate("() => window.__notReloaded") is True

    store = lab.store
    store.write_task(run_id, "train_logreg", {"state": "SUCCESS", "attempts": [{"attempt": 1}]})
    store.update_run(run_id, state="SUCCESS", end_time="2026-11-29T09:31:00.000Z")
    panel.locator('.jp-TaskValues-node[data-task-key="train_logreg"][data-state="SUCCESS"]').wait_for(
        timeout=20_000
    )
    panel.locator(f'[data-run-id="{run_id}"] .jp-TaskValues-badge[data-state="SUCCESS"]').wait_for(
        timeout=20_000
    )


def test_a_hostile_value_is_shown_as_text_and_never_runs(page: Any, make_run: MakeRun) -> None:
    hostile = '<img src=x onerror="window.__xss=1">'
    run_id = make_run(
        '<img src=x onerror="window.__xss=2">',
        states={"ingest": "FAILED"},
        values={"ingest": {"html": hostile, "nested": {"k": hostile}}},
        parameters={"p": "<script>window.__xss=3</script>"},
        task_records={"ingest": {"error": {"ename": "ValueError", "evalue": hostile, "traceback": []}}},
    )

    panel = open_panel(page)
    select_run(panel, run_id)
    select_task(panel, "ingest")
    panel.locator('.jp-TaskValues-value[data-key="html"]').click()
    page.wait_for_timeout(1500)

    preview = panel.locator('.jp-TaskValues-value[data-key="html"] .jp-TaskValues-preview')
    assert preview.text_content() == hostile
    assert json.loads(panel.locator("pre.jp-TaskValues-json").text_content()) == hostile
    assert hostile in panel.locator(".jp-TaskValues-errorBlock").text_content()
    assert panel.locator(f'[data-run-id="{run_id}"] .jp-TaskValues-runJob').text_content().startswith("<img")
    assert panel.locator("img, script").count() == 0
    assert page.evaluate("() => window.__xss") is None


def test_the_open_notebook_button_opens_an_executed_notebook_under_the_root(
    page: Any, make_run: MakeRun, lab: Lab
) -> None:
    executed = lab.root_dir / "executed" / "ingest-run.ipynb"
    executed.parent.mkdir(exist_ok=True)
    executed.write_text(json.dumps(_notebook("Executed under the root")))
    run_id = make_run(
        "with-notebook",
        states={"ingest": "SUCCESS"},
        task_records={"ingest": {"output_notebook": str(executed)}},
    )

    panel = open_panel(page)
    select_run(panel, run_id)
    select_task(panel, "ingest")
    panel.locator(".jp-TaskValues-open").click()

    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="ingest-run.ipynb")
    tab.wait_for()
    page.locator(".jp-NotebookPanel .jp-RenderedMarkdown", has_text="Executed under the root").wait_for()


def test_the_open_notebook_button_shows_a_notebook_of_the_runs_directory_read_only(
    page: Any, make_run: MakeRun, lab: Lab
) -> None:
    run_id = make_run("in-runs-dir", states={"ingest": "SUCCESS"})
    executed = lab.store.notebook_path(run_id, "ingest")
    executed.write_text(json.dumps(_notebook("Kept in the runs directory")))
    lab.store.write_task(run_id, "ingest", {"state": "SUCCESS", "output_notebook": str(executed)})

    panel = open_panel(page)
    select_run(panel, run_id)
    select_task(panel, "ingest")
    panel.locator(".jp-TaskValues-open").click()

    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="ingest.ipynb").wait_for()
    page.locator(".jp-NotebookPanel .jp-RenderedMarkdown", has_text="Kept in the runs directory").wait_for()


def _notebook(text: str) -> dict[str, Any]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"cell_type": "markdown", "id": "c1", "metadata": {}, "source": f"# {text}"}],
    }


def _executed_notebook() -> dict[str, Any]:
    source = 'accuracy = 0.8621\ndbutils.jobs.taskValues.set("accuracy", accuracy)\naccuracy'
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "# Train a random forest"},
            {
                "cell_type": "code",
                "id": "c1",
                "metadata": {},
                "execution_count": 1,
                "source": source,
                "outputs": [
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "metadata": {},
                        "data": {"text/plain": "0.8621"},
                    }
                ],
            },
        ],
    }
