"""A real JupyterLab in a subprocess and headless Chromium (Playwright, sync API) to drive it.

Run these tests as their own pytest invocation: ``pytest tests/browser`` (they need ``/usr/bin/chromium``:
``apt-get install -y chromium``; Playwright's own browser download is never used).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from jupyter_taskvalues.store import RunStore

CHROMIUM = os.environ.get("JUPYTER_TASKVALUES_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 30_000
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: where it listens and what it serves."""

    url: str
    token: str
    root_dir: Path
    runs_dir: Path
    log: Path

    @property
    def store(self) -> RunStore:
        return RunStore(self.runs_dir)

    def lab_url(self, workspace: str) -> str:
        return f"{self.url}lab/workspaces/{workspace}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(url: str, token: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            request = urllib.request.Request(f"{url}api/status", headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"jupyter lab did not answer within 90 s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Start ``jupyter lab`` with its own config, settings, workspaces and runs directories."""
    base = tmp_path_factory.mktemp("lab")
    dirs = {
        name: base / name
        for name in ("config", "settings", "workspaces", "ipython", "root", "runs", "runtime")
    }
    for path in dirs.values():
        path.mkdir()
    notification = (
        dirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port = _free_port()
    token = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_TASKVALUES_")}
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        IPYTHONDIR=str(dirs["ipython"]),
        JUPYTER_TASKVALUES_RUNS_DIR=str(dirs["runs"]),
    )
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={dirs['root']}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = base / "lab.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=dirs["root"])
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, token, process, log)
        yield Lab(url=url, token=token, root_dir=dirs["root"], runs_dir=dirs["runs"], log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@contextlib.contextmanager
def lab_page(browser: Any, lab: Lab, workspace: str, **context_options: Any) -> Iterator[Any]:
    """A fresh JupyterLab page in its own workspace, ready when the app has started.

    ``context_options`` go to Playwright's ``browser.new_context`` (``timezone_id``, ``locale``...). No error of
    this extension may reach the page's ``pageerror`` meanwhile.
    """
    options = {"viewport": {"width": 1280, "height": 800}, "color_scheme": "light", **context_options}
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(lab.lab_url(workspace.replace("[", "-").replace("]", "")))
    tab.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=60_000)
    tab.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
    tab.wait_for_function(
        "() => window.jupyterapp.commands.hasCommand('taskvalues:open-panel')", timeout=60_000
    )
    tab.evaluate("() => window.jupyterapp.restored.then(() => true)")
    yield tab
    context.close()
    assert not [e for e in errors if "TaskValues" in e or "taskvalues" in e], errors


@pytest.fixture
def page(browser: Any, lab: Lab, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh JupyterLab page (own workspace, layout reset), ready when the app has started."""
    with lab_page(browser, lab, request.node.name) as tab:
        yield tab


MakeRun = Callable[..., str]

INCOME_TASKS: dict[str, dict[str, Any]] = {
    "ingest": {"type": "notebook", "notebook_path": "ingest.ipynb", "depends_on": []},
    "train_logreg": {
        "type": "notebook",
        "notebook_path": "train.ipynb",
        "depends_on": [{"task_key": "ingest", "outcome": None}],
    },
    "train_forest": {
        "type": "notebook",
        "notebook_path": "train.ipynb",
        "depends_on": [{"task_key": "ingest", "outcome": None}],
    },
    "best_model": {
        "type": "notebook",
        "notebook_path": "best_model.ipynb",
        "depends_on": [
            {"task_key": "train_logreg", "outcome": None},
            {"task_key": "train_forest", "outcome": None},
        ],
    },
}


@pytest.fixture
def make_run(lab: Lab) -> MakeRun:
    """Make a run in the lab's runs directory and return its id.

    ``values`` maps task keys to the values each task set; ``states`` maps task keys to their states
    (tasks not named are PENDING). The run is written through the store directly, so a test controls
    exactly when each value appears; a run made by the job runner has the same shape.
    """

    def make(
        job_name: str = "income",
        *,
        state: str = "SUCCESS",
        tasks: dict[str, dict[str, Any]] | None = None,
        states: dict[str, str] | None = None,
        values: dict[str, dict[str, Any]] | None = None,
        parameters: dict[str, str] | None = None,
        task_records: dict[str, dict[str, Any]] | None = None,
    ) -> str:
        store = lab.store
        run_id = store.create_run(
            job_name=job_name, tasks=tasks or INCOME_TASKS, parameters=parameters or {"min_accuracy": "0.8"}
        )
        store.update_run(run_id, state=state, start_time="2026-11-29T09:30:00.000Z")
        live = state in ("PENDING", "RUNNING")
        for key, task_state in (states or {}).items():
            record: dict[str, Any] = {
                "state": task_state,
                "attempts": [{"attempt": 1, "state": task_state}],
                "start_time": "2026-11-29T09:30:01.000Z",
                "end_time": None if task_state == "RUNNING" else "2026-11-29T09:30:04.500Z",
            }
            record.update((task_records or {}).get(key, {}))
            store.write_task(run_id, key, record)
        for task_key, task_values in (values or {}).items():
            for key, value in task_values.items():
                store.set_value(run_id, task_key, key, value)
        if not live:
            store.update_run(run_id, end_time="2026-11-29T09:30:12.250Z")
        return run_id

    return make


def run_from_palette(page: Any, label: str, command: str) -> None:
    """Type ``label`` in the command palette (Ctrl+Shift+C) and run the first match, ``command``.

    Right after JupyterLab starts, the launcher can take the focus and close the palette again: the whole
    gesture is retried until the command's item is active in a palette that stays open.
    """
    palette = page.locator(".lm-CommandPalette-input")
    item = page.locator(f'.lm-CommandPalette-item.lm-mod-active[data-command="{command}"]')
    for _ in range(20):
        page.locator("#jp-main-dock-panel").click(position={"x": 5, "y": 5})
        page.keyboard.press("Control+Shift+C")
        try:
            palette.wait_for(state="visible", timeout=1000)
            page.wait_for_timeout(300)
            palette.fill(label, timeout=1000)
            item.wait_for(state="visible", timeout=2000)
        except PlaywrightTimeoutError:
            continue
        page.keyboard.press("Enter")
        return
    raise AssertionError(f"The command palette did not run {label!r}.")


def open_panel(page: Any, *, via: str = "tab") -> Any:
    """Open the Task Values panel and return its locator.

    ``via="tab"`` clicks its icon in the left side bar; ``via="palette"`` runs "Task Values: Open panel" from
    the command palette.
    """
    panel = page.locator("#jupyter-taskvalues-panel")
    if via == "palette":
        # The palette can still lose its Enter to the launcher taking the focus: try the gesture again.
        for _ in range(5):
            run_from_palette(page, "Task Values: Open panel", "taskvalues:open-panel")
            try:
                panel.wait_for(state="visible", timeout=3000)
                return panel
            except PlaywrightTimeoutError:
                continue
    else:
        page.locator('.jp-SideBar .lm-TabBar-tab[data-id="jupyter-taskvalues-panel"]').click()
    panel.wait_for(state="visible")
    return panel


def widen_side_panel(page: Any, width: int) -> None:
    """Drag the handle between the left side panel and the main area until the panel is ``width`` wide."""
    panel = page.locator("#jupyter-taskvalues-panel").bounding_box()
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)").first
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + width - panel["width"], y, steps=5)
    page.mouse.up()


def select_run(panel: Any, run_id: str) -> None:
    item = panel.locator(f'[data-run-id="{run_id}"]')
    item.wait_for()
    item.click()
    panel.locator(".jp-TaskValues-runSection .jp-TaskValues-facts dd", has_text=run_id).wait_for()


def select_task(panel: Any, task_key: str) -> None:
    panel.locator(f'.jp-TaskValues-node[data-task-key="{task_key}"]').click()
    panel.locator(".jp-TaskValues-taskTitle", has_text=task_key).wait_for()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    return path


def lab_log_tail(lab: Lab) -> str:
    return lab.log.read_text(errors="replace")[-3000:]
