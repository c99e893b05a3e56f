"""The Output panel: a job run's tasks and their values, inside a notebook (``%taskvalue show``).

In a notebook::

    In [1]: from jupyter_taskvalues.widget.panel import RunPanel
    In [2]: RunPanel.for_current()    # this task's run, the attached run, the latest run, or the session
    In [3]: RunPanel.for_current("20261129-044735-123-a1b2c3")

``%taskvalue show [RUN_ID]`` does the same. The panel reads runs only through
:class:`~jupyter_taskvalues.store.RunStore` and the run document (:mod:`jupyter_taskvalues.document`). While a
run is ``PENDING`` or ``RUNNING`` a background thread compares the store's cheap
:meth:`~jupyter_taskvalues.store.RunStore.fingerprint` once per ``poll_interval`` and rebuilds the document
only when it changed; it stops when the run ends or the panel is closed. Widget updates made from that thread
reach the browser through the kernel's IOPub channel, as any comm message does.

Everything a run stored is rendered as text (see :mod:`jupyter_taskvalues.widget.render`); the task, value and
run pickers are ``Dropdown`` widgets, whose labels the browser shows as text (not ``ToggleButtons``, whose
labels it sets as HTML).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ipywidgets as widgets

from ..context import current_context, default_runs_dir
from ..document import run_document, run_summary
from ..exceptions import TaskNotFoundError, TaskValuesError, ValueNotFoundError
from ..runtime import session
from ..store import open_store
from . import render

__all__ = ["SESSION", "PanelTarget", "RunPanel", "resolve_target"]

#: The run picker's entry for the interactive session (not a valid run id, so it never names a run).
SESSION = "(interactive session)"
# The value picker's placeholder entry; a Dropdown whose value is None shows nothing at all.
_NO_VALUE = ("— pick a value to see its JSON —", ())

Reason = Literal["given", "current", "attached", "latest", "session"]


@dataclass(frozen=True)
class PanelTarget:
    """What a panel shows: a run (``run_id``) or the interactive session (``run_id is None``), and why."""

    run_id: str | None
    runs_dir: str
    task_key: str | None = None
    reason: Reason = "given"


def resolve_target(run_id: str | None = None, *, runs_dir: str | None = None) -> PanelTarget:
    """Choose what :meth:`RunPanel.for_current` shows.

    In order: ``run_id`` when given (``"latest"`` names the newest run); the run this kernel is a task of; the
    run ``%taskvalue attach`` attached the notebook to; the newest run in the runs directory; else the
    interactive session's values.

    Raises
    ------
    RunNotFoundError
        ``run_id`` is given but the runs directory holds no such run.
    """
    current = current_context()
    attached = session.attached_context()
    context = current or attached
    directory = str(runs_dir or (context.runs_dir if context else None) or default_runs_dir())
    store = open_store(directory)
    if run_id is not None:
        run_id = store.resolve_run_id(run_id, hint="Run a job first, or pass runs_dir.")
        store.read_run(run_id)  # fail here, with the store's message, for an unknown or invalid id
        task = context.task_key if context is not None and context.run_id == run_id else None
        return PanelTarget(run_id, directory, task, "given")
    if current is not None:
        return PanelTarget(current.run_id, directory, current.task_key, "current")
    if attached is not None:
        return PanelTarget(attached.run_id, directory, attached.task_key, "attached")
    ids = store.run_ids()
    if ids:
        return PanelTarget(ids[0], directory, None, "latest")
    return PanelTarget(None, directory, None, "session")


class RunPanel(widgets.VBox):  # type: ignore[misc]
    """An ipywidgets panel showing one job run (or the interactive session), updated live.

    Parameters
    ----------
    run_id
        The run to show; ``None`` shows the interactive session's values.
    runs_dir
        The runs directory; defaults to :func:`~jupyter_taskvalues.context.default_runs_dir`.
    task_key
        The task selected first; by default the first failed task, else the first task.
    poll_interval
        Seconds between two checks of a live run for changes.
    live
        Follow a live run (and the session) from a background thread; ``False`` updates only on
        :meth:`refresh`.
    recent
        How many recent runs the run picker lists.

    Attributes
    ----------
    document
        The run document last read (``None`` for the session).
    reason
        Why :meth:`for_current` chose this run: ``"given"``, ``"current"``, ``"attached"``, ``"latest"`` or
        ``"session"``.
    """

    def __init__(
        self,
        run_id: str | None = None,
        *,
        runs_dir: str | Path | None = None,
        task_key: str | None = None,
        poll_interval: float = 1.0,
        live: bool = True,
        recent: int = 20,
    ) -> None:
        self.store = open_store(runs_dir if runs_dir is not None else default_runs_dir())
        self.poll_interval = poll_interval
        self.live = live
        self.recent = recent
        self.reason: Reason = "given" if run_id is not None else "session"
        self.run_id: str | None = None
        self.document: dict[str, Any] | None = None
        self._task_key: str | None = None
        self._fingerprint: str | None = None
        self._session_version: int | None = None
        self._session: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
        self._summaries: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._updating = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

        self.run_picker = widgets.Dropdown(description="Run", layout=widgets.Layout(width="max-content"))
        self.run_picker.add_class(
            "jtv-run-picker"
        )  # the lab extension shows its entries' times in local time
        self.refresh_button = widgets.Button(
            icon="refresh",
            tooltip="Read the run again and update the run list",
            layout=widgets.Layout(width="36px"),
        )
        self.status = widgets.HTML()
        self.header = widgets.HTML()
        self.graph = widgets.HTML()
        self.task_picker = widgets.Dropdown(description="Task")
        self.task_view = widgets.HTML()
        self.value_picker = widgets.Dropdown(description="Value")
        self.value_view = widgets.HTML()
        super().__init__(
            [
                widgets.HBox([self.run_picker, self.refresh_button, self.status]),
                self.header,
                self.graph,
                self.task_picker,
                self.task_view,
                self.value_picker,
                self.value_view,
            ]
        )
        self.add_class("jtv-panel")
        self.run_picker.observe(self._on_run_picked, names="value")
        self.task_picker.observe(self._on_task_picked, names="value")
        self.value_picker.observe(self._on_value_picked, names="value")
        self.refresh_button.on_click(self._on_refresh_clicked)
        try:
            self.show(run_id, task_key=task_key)
        except BaseException:  # any failure (re-raised): close the widgets built so far
            self.close()  # no half-built widgets left open in the kernel
            raise

    # -- construction ---------------------------------------------------------------------------------------

    @classmethod
    def for_current(
        cls, run_id: str | None = None, *, runs_dir: str | None = None, **options: Any
    ) -> RunPanel:
        """Return a panel on ``run_id``, else on the current, attached or latest run, else on the session.

        See :func:`resolve_target` for the order. ``options`` are passed to the constructor
        (``poll_interval``, ``live``, ``recent``).
        """
        target = resolve_target(run_id, runs_dir=runs_dir)
        panel = cls(target.run_id, runs_dir=target.runs_dir, task_key=target.task_key, **options)
        panel.reason = target.reason
        return panel

    # -- what is shown --------------------------------------------------------------------------------------

    @property
    def task_key(self) -> str | None:
        """The selected task."""
        return self._task_key

    @property
    def is_live(self) -> bool:
        """Whether the shown run may still change (its state is ``PENDING`` or ``RUNNING``)."""
        return self.document is not None and self.document.get("state") in render.LIVE_STATES

    @property
    def polling(self) -> bool:
        """Whether the background poller is running."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def show(self, run_id: str | None, *, task_key: str | None = None) -> None:
        """Show another run (``None``: the interactive session).

        Raises :class:`RunNotFoundError` for an unknown run and leaves the panel as it was.
        """
        self.stop_polling()
        try:
            self._load(run_id, task_key)
        finally:
            self._start_polling_if_needed()

    def _load(self, run_id: str | None, task_key: str | None) -> None:
        with self._lock:
            if run_id is None:
                self.run_id, self.document, self._fingerprint = None, None, None
                self._session_version = None
                self._task_key = None
                self.refresh(force=True)
            else:
                fingerprint = self.store.fingerprint(run_id)
                document = run_document(self.store, run_id)
                self.run_id, self.document, self._fingerprint = run_id, document, fingerprint
                self._task_key = task_key if task_key in document["tasks"] else _first_task(document)
                self._render_run()
            self._load_summaries()
            self._render_picker()

    def select_task(self, task_key: str) -> None:
        """Select a task of the shown run, showing its values, parameters, exit value and error."""
        with self._lock:
            tasks = self.document["tasks"] if self.document else {}
            if task_key not in tasks:
                known = ", ".join(repr(k) for k in tasks) or "none"
                raise TaskNotFoundError(
                    f"Task {task_key!r} is not part of the run shown ({self.run_id!r}). "
                    f"Its tasks are: {known}.",
                    task_key=task_key,
                    run_id=self.run_id,
                )
            self.task_picker.value = task_key

    def select_value(self, key: str, *, iteration: int | None = None) -> None:
        """Show the full JSON of one value of the selected task (or of the session, or of an iteration)."""
        with self._lock:
            choice = (iteration, key)
            if choice not in [value for _label, value in self.value_picker.options]:
                where = f"iteration {iteration} of " if iteration is not None else ""
                raise ValueNotFoundError(
                    f"{where}{self._task_key or 'the interactive session'} has no value {key!r} in the "
                    "panel. Pick one of the value picker's keys.",
                    key=key,
                    task_key=self._task_key,
                    run_id=self.run_id,
                )
            self.value_picker.value = choice

    # -- refreshing -----------------------------------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> bool:
        """Read the run again if the store says it changed; return whether anything new was shown.

        The check stats the run's files (:meth:`RunStore.fingerprint`) and reads no value; the run document is
        rebuilt only when the fingerprint differs, or when ``force`` is true.
        """
        with self._lock:
            if self.run_id is None:
                version = session.session_version()
                if not force and version == self._session_version:
                    return False
                self._session_version = version
                records = session.session_records()
                self._session = (
                    {k: r.value for k, r in records.items()},
                    {
                        k: {"size": r.size, "set_at": r.set_at, "attempt": r.attempt}
                        for k, r in records.items()
                    },
                )
                self._render_session()
                return True
            fingerprint = self.store.fingerprint(self.run_id)
            if not force and fingerprint == self._fingerprint:
                if self.is_live:
                    # A runner that died writes nothing; the store reports its run INTERRUPTED on read.
                    if self.store.read_run(self.run_id).get("state") not in render.LIVE_STATES:
                        return self.refresh(force=True)
                    self.header.value = render.header_html(self.document or {})
                return False
            self.document = run_document(self.store, self.run_id)
            self._fingerprint = fingerprint
            self._render_run()
            self._update_summary()
            return True

    def poll_once(self) -> bool:
        """Run one step of the poller: :meth:`refresh`, then return whether polling should go on."""
        self.refresh()
        return self.run_id is None or self.is_live

    def start_polling(self, interval: float | None = None) -> None:
        """Follow the shown run from a background thread until it ends (or until :meth:`stop_polling`)."""
        if interval is not None:
            self.poll_interval = interval
        if self.polling:
            return
        stop = threading.Event()
        self._stop = stop
        thread = threading.Thread(
            target=self._poll_loop,
            args=(stop, self.poll_interval),
            name="jupyter-taskvalues-panel",
            daemon=True,
        )
        self._thread = thread
        self._set_status(self._live_status(self.poll_interval))
        thread.start()

    def stop_polling(self, timeout: float = 10.0) -> None:
        """Stop the background poller and wait (at most ``timeout`` seconds) for it to finish."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            self._set_status("")
        self._thread = None

    def close(self) -> None:
        """Stop polling and close the panel and every widget in it."""
        self.stop_polling()
        for child in _descendants(self):
            child.close()
        super().close()

    def _poll_loop(self, stop: threading.Event, interval: float) -> None:
        while not stop.wait(interval):
            try:
                if not self.poll_once():
                    break
            except (TaskValuesError, OSError, ValueError) as e:
                self._set_status(f"Stopped following the run: {e}")
                return
        if not stop.is_set():
            self._set_status("")

    def _start_polling_if_needed(self) -> None:
        if self.live and (self.run_id is None or self.is_live):
            self.start_polling()

    # -- rendering ------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        """Change pickers without their observers reacting to it."""
        self._updating += 1
        try:
            yield
        finally:
            self._updating -= 1

    def _set_status(self, text: str) -> None:
        self.status.value = f'<span class="jtv-status">{render.esc(text)}</span>' if text else ""

    def _live_status(self, interval: float) -> str:
        what = "the session" if self.run_id is None else "the run"
        return f"Following {what} live (every {render.format_duration(interval)})."

    def _render_run(self) -> None:
        doc = self.document or {}
        tasks: Mapping[str, Any] = doc.get("tasks") or {}
        if self._task_key not in tasks:
            self._task_key = _first_task(doc)
        self.header.value = render.header_html(doc)
        self.graph.value = render.graph_html(doc, selected=self._task_key)
        self.graph.layout.display = None
        self.task_picker.layout.display = None if tasks else "none"
        self.task_view.layout.display = None
        options = [(f"{key} — {task.get('state')}", key) for key, task in tasks.items()]
        _set_options(self.task_picker, options, self._task_key, self._quietly)
        self._render_task()

    def _render_task(self) -> None:
        doc = self.document or {}
        task = (doc.get("tasks") or {}).get(self._task_key) if self._task_key else None
        self.task_view.value = render.task_html(task) if task else ""
        options: list[tuple[str, Any]] = [_NO_VALUE]
        if task:
            options += [(key, (None, key)) for key in task.get("values") or {}]
            for iteration in task.get("iterations") or []:
                index = iteration.get("index")
                options += [
                    (f"{key} (iteration {index})", (index, key)) for key in iteration.get("values") or {}
                ]
        self._render_values(options)

    def _render_session(self) -> None:
        values, info = self._session
        no_runs = str(self.store.root) if not self.store.run_ids() else None
        self.header.value = render.session_html(values, info, runs_dir=no_runs)
        for hidden in (self.graph, self.task_picker, self.task_view):
            hidden.layout.display = "none"
        self.graph.value = self.task_view.value = ""
        self._render_values([_NO_VALUE] + [(key, (None, key)) for key in values])

    def _render_values(self, options: list[tuple[str, Any]]) -> None:
        keep = self.value_picker.value if self.value_picker.value in [v for _l, v in options] else ()
        _set_options(self.value_picker, options, keep, self._quietly)
        self.value_picker.layout.display = None if len(options) > 1 else "none"
        self._render_value()

    def _render_value(self) -> None:
        choice = self.value_picker.value
        if not choice:
            self.value_view.value = ""
            return
        iteration, key = choice
        if self.run_id is None:
            values, info = self._session
            where = ""
        else:
            task = ((self.document or {}).get("tasks") or {}).get(self._task_key) or {}
            source = task
            if iteration is not None:
                source = next((it for it in task.get("iterations") or [] if it.get("index") == iteration), {})
            values, info = source.get("values") or {}, source.get("value_info") or {}
            where = f"(task {self._task_key}" + (
                f", iteration {iteration})" if iteration is not None else ")"
            )
        if key not in values:
            self.value_view.value = ""
            return
        self.value_view.value = render.value_json_html(key, values[key], info.get(key), where=where)

    # -- the run picker -------------------------------------------------------------------------------------

    def _load_summaries(self) -> None:
        self._summaries = [run_summary(run) for run in self.store.list_run_heads(limit=self.recent)]

    def _update_summary(self) -> None:
        doc = self.document
        if doc is None:
            return
        changed = False
        for i, summary in enumerate(self._summaries):
            if summary["run_id"] == doc["run_id"] and summary.get("state") != doc.get("state"):
                self._summaries[i] = {
                    **summary,
                    "state": doc.get("state"),
                    "start_time": doc.get("start_time"),
                }
                changed = True
        if changed:
            self._render_picker()

    def _render_picker(self) -> None:
        options = [(render.run_label(s), s["run_id"]) for s in self._summaries]
        if self.run_id is not None and self.run_id not in [value for _l, value in options]:
            options.insert(0, (render.run_label(self.document or {"run_id": self.run_id}), self.run_id))
        options.append(("Interactive session (values set outside a job run)", SESSION))
        _set_options(
            self.run_picker, options, self.run_id if self.run_id is not None else SESSION, self._quietly
        )

    # -- events ---------------------------------------------------------------------------------------------

    def _on_run_picked(self, change: Mapping[str, Any]) -> None:
        if self._updating or change["new"] is None:
            return
        picked = None if change["new"] == SESSION else change["new"]
        if picked == self.run_id:
            return
        try:
            self.show(picked)
        except (TaskValuesError, OSError) as e:
            self._set_status(f"Cannot show run {picked}: {e}")

    def _on_task_picked(self, change: Mapping[str, Any]) -> None:
        if self._updating or change["new"] is None:
            return
        with self._lock:
            self._task_key = change["new"]
            self.graph.value = render.graph_html(self.document or {}, selected=self._task_key)
            self._render_task()

    def _on_value_picked(self, change: Mapping[str, Any]) -> None:
        if self._updating:
            return
        with self._lock:
            self._render_value()

    def _on_refresh_clicked(self, _button: widgets.Button) -> None:
        try:
            with self._lock:
                self.refresh(force=True)
                self._load_summaries()
                self._render_picker()
            self._start_polling_if_needed()
        except (TaskValuesError, OSError) as e:
            self._set_status(f"Cannot read the run: {e}")


def _first_task(doc: Mapping[str, Any]) -> str | None:
    """Return the task to select first: the first that failed, else the first running, else the first."""
    tasks: Mapping[str, Mapping[str, Any]] = doc.get("tasks") or {}
    for wanted in ({"FAILED", "TIMEDOUT"}, {"RUNNING"}):
        for key, task in tasks.items():
            if task.get("state") in wanted:
                return key
    return next(iter(tasks), None)


def _set_options(
    picker: widgets.Dropdown,
    options: list[tuple[str, Any]],
    value: Any,
    quietly: Any,
) -> None:
    """Give a picker new options and a value without firing its observers in between."""
    with quietly():
        if list(picker.options) != options:
            picker.options = options
        values = [v for _label, v in options]
        wanted = value if value in values else (values[0] if values else None)
        if picker.value != wanted:
            picker.value = wanted


def _descendants(box: widgets.Box) -> Iterator[widgets.Widget]:
    for child in box.children:
        if isinstance(child, widgets.Box):
            yield from _descendants(child)
        yield child
