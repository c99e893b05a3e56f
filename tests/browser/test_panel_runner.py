"""The side panel over a run made by the real runner: the income example, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues import run_job

from .conftest import Lab, open_panel, screenshot, select_run, select_task, widen_side_panel

pytestmark = pytest.mark.browser

INCOME = Path(__file__).parents[2] / "examples" / "income" / "databricks.yml"


def test_panel_shows_the_values_of_the_income_example_run_by_the_runner(page: Any, lab: Lab) -> None:
    run = run_job(INCOME, runs_dir=lab.runs_dir)
    assert run["state"] == "SUCCESS"
    best = run["tasks"]["Best_Model"]["values"]["best_model"]

    panel = open_panel(page)
    widen_side_panel(page, 460)
    select_run(panel, run["run_id"])
    for key in ("Logistic_Regression", "Decision_Tree", "Random_Forest", "Best_Model"):
        node = panel.locator(f'.jp-TaskValues-node[data-task-key="{key}"]')
        assert node.get_attribute("data-state") == "SUCCESS"

    select_task(panel, "Best_Model")
    row = panel.locator('.jp-TaskValues-value[data-key="best_model"]')
    assert row.locator(".jp-TaskValues-preview").text_content() == best
    assert panel.locator(".jp-TaskValues-exit").text_content() == run["tasks"]["Best_Model"]["exit_value"]

    select_task(panel, "Random_Forest")
    accuracy = panel.locator('.jp-TaskValues-value[data-key="model_performance"]')
    expected = run["tasks"]["Random_Forest"]["values"]["model_performance"]
    assert float(accuracy.locator(".jp-TaskValues-preview").text_content() or "nan") == expected
    page.wait_for_timeout(300)
    screenshot(page, "panel-income.png")
