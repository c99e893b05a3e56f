"""HTML for the Output panel widget: pure functions from run documents to markup.

Nothing here imports ipywidgets, so the markup is testable as plain strings. Every string that comes from a
run (job name, task keys, values, parameters, errors, timestamps) goes through :func:`esc` before it reaches
the markup: values are data, and the ``HTML`` widget sets its value as ``innerHTML``, so an unescaped
``<img src=x onerror=...>`` would run. Styles are inline and use JupyterLab's CSS variables where they exist,
so the panel reads in light and dark themes.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..document import duration
from ..timestamps import format_time as stored_time
from ..timestamps import parse_time

__all__ = [
    "FINAL_RUN_STATES",
    "LIVE_STATES",
    "STATE_COLOURS",
    "esc",
    "format_duration",
    "format_size",
    "format_time",
    "graph_html",
    "header_html",
    "json_type",
    "preview",
    "run_label",
    "session_html",
    "task_html",
    "task_layers",
    "time_html",
    "value_json_html",
]

#: Run and task states in which the run may still change.
LIVE_STATES = frozenset({"PENDING", "RUNNING", "QUEUED", "BLOCKED", "WAITING_FOR_RETRY"})
#: Run states after which nothing changes (until a repair).
FINAL_RUN_STATES = frozenset(
    {"SUCCESS", "SUCCESS_WITH_FAILURES", "FAILED", "TIMEDOUT", "CANCELED", "INTERRUPTED"}
)

#: Fill colour of each state (text on it is white, except where noted in ``_DARK_TEXT``).
STATE_COLOURS: dict[str, str] = {
    "SUCCESS": "#2e7d32",
    "SUCCESS_WITH_FAILURES": "#9e6a00",
    "FAILED": "#c62828",
    "TIMEDOUT": "#b23c17",
    "CANCELED": "#616161",
    "INTERRUPTED": "#6a1b9a",
    "EXCLUDED": "#b0bec5",
    "UPSTREAM_FAILED": "#e65100",
    "UPSTREAM_CANCELED": "#8d6e63",
    "RUNNING": "#1565c0",
    "PENDING": "#cfd8dc",
    "SESSION": "#00695c",
}
_DARK_TEXT = frozenset({"EXCLUDED", "PENDING"})
_UNKNOWN_COLOUR = "#9e9e9e"

PREVIEW_CHARS = 80
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# The widgets' own CSS gives HTML content a line height of a whole control row; text reads better closer.
_BLOCK = "line-height:1.45"
# Scoped to the panel's own class names; repeated in each HTML widget that has tables (harmless duplicates).
_TABLE_STYLE = (
    "<style>table.jtv-table{border-collapse:collapse;margin:2px 0 8px 0}"
    ".jtv-table th,.jtv-table td{padding:2px 8px;border-bottom:1px solid var(--jp-border-color2,#e0e0e0);"
    "vertical-align:top;text-align:left}.jtv-table th{font-weight:600}</style>"
)
_MONO = "font-family:var(--jp-code-font-family,monospace);font-size:var(--jp-code-font-size,12px)"
_PRE = (
    f"{_MONO};white-space:pre-wrap;word-break:break-word;margin:4px 0;padding:6px;max-height:24em;"
    "overflow:auto;background:var(--jp-layout-color2,#f5f5f5);color:var(--jp-content-font-color1,inherit);"
    "border-radius:3px"
)


def esc(text: Any) -> str:
    """Return ``text`` (any object, shown with ``str``) escaped for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


# -- formatting ----------------------------------------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    """Return a short human duration (``850 ms``, ``12.3 s``, ``3 min 05 s``, ``1 h 02 min``), or ``—``."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_size(size: int | None) -> str:
    """Return a byte count as ``17 B`` or ``1.2 KiB``."""
    if size is None:
        return "—"
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KiB"


def format_time(stamp: str | None) -> str:
    """Return a store timestamp (``2026-11-29T04:47:35.123Z``) as ``2026-11-29 04:47:35 UTC`` (unescaped).

    A stamp with another offset is converted to UTC; one that does not parse is returned as it is.
    """
    if not stamp:
        return "—"
    try:
        return _utc_text(parse_time(stamp))
    except ValueError:
        return stamp


def _utc_text(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") + " UTC"


def time_html(stamp: str | None) -> str:
    """Return a time as ``<time class="jtv-time" datetime="...">2026-11-29 04:47:35 UTC</time>``.

    The kernel cannot know the browser's time zone, so the text is UTC, and says so. In JupyterLab the
    jupyter-taskvalues extension rewrites every ``time.jtv-time`` in the page in the browser's local time zone
    (or as its "Time format" setting says), with the exact UTC time on hover, as its side panel shows times.
    A stamp that does not parse is shown as text, with no ``<time>``.
    """
    if not stamp:
        return "—"
    try:
        moment = parse_time(stamp)
    except ValueError:
        return esc(stamp)
    utc = esc(_utc_text(moment))
    return f'<time class="jtv-time" datetime="{esc(stored_time(moment))}" title="{utc}">{utc}</time>'


def elapsed_since(stamp: str | None, now: dt.datetime | None = None) -> float | None:
    """Return the seconds from a store timestamp until ``now`` (for a run that has not ended)."""
    if not stamp:
        return None
    try:
        start = parse_time(stamp)
    except ValueError:
        return None
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (now - start).total_seconds())


def json_type(value: Any) -> str:
    """Return the JSON type of a value: ``string``, ``integer``, ``number``, ``boolean``, ``array (3)``..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return f"array ({len(value)})"
    if isinstance(value, dict):
        return f"object ({len(value)} keys)"
    return type(value).__name__


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """Return compact JSON of ``value`` cut to ``limit`` characters with an ellipsis (unescaped)."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _strip_ansi(text: str) -> str:
    return _ANSI_RE.sub("", text)


def badge(state: Any) -> str:
    """Return a coloured badge for a run or task state."""
    name = str(state) if state else "UNKNOWN"
    fill = STATE_COLOURS.get(name, _UNKNOWN_COLOUR)
    ink = "#212121" if name in _DARK_TEXT else "#ffffff"
    return (
        f'<span class="jtv-state" data-state="{esc(name)}" style="background:{fill};color:{ink};'
        'padding:1px 7px;border-radius:9px;font-size:11px;font-weight:600;white-space:nowrap">'
        f"{esc(name)}</span>"
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, css_class: str) -> str:
    """Return a table; ``rows`` hold markup that the caller has already escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="jtv-table {css_class}"><tr>{head}</tr>{body}</table>'


def _section(title: str, body: str) -> str:
    return (
        '<div style="margin-top:6px"><div style="font-weight:600;margin-bottom:2px">'
        f"{esc(title)}</div>{body}</div>"
    )


def _code(text: Any) -> str:
    return f'<code style="{_MONO}">{esc(text)}</code>'


def _pre(text: str, css_class: str = "jtv-pre") -> str:
    return f'<pre class="{css_class}" style="{_PRE}">{esc(text)}</pre>'


def _muted(text: str) -> str:
    return f'<span style="color:var(--jp-content-font-color2,#757575)">{esc(text)}</span>'


# -- run header ----------------------------------------------------------------------------------------------


def run_label(summary: Mapping[str, Any]) -> str:
    """Return the picker label of a run: ``job · STATE · 2026-11-29 04:47:35 UTC`` (plain text)."""
    when = format_time(summary.get("start_time") or summary.get("created"))
    return f"{summary.get('job_name') or '(unnamed job)'} · {summary.get('state') or 'UNKNOWN'} · {when}"


def header_html(doc: Mapping[str, Any], *, now: dt.datetime | None = None) -> str:
    """Return the run header: job name, state, run id, start, duration (elapsed while live), counts."""
    state = doc.get("state")
    seconds = doc.get("duration_seconds")
    if seconds is None and state in LIVE_STATES:
        elapsed = elapsed_since(doc.get("start_time"), now)
        timing = "not started" if elapsed is None else f"running for {format_duration(elapsed)}"
    else:
        timing = format_duration(seconds)
    tasks = doc.get("tasks") or {}
    counts: dict[str, int] = {}
    for task in tasks.values():
        counts[str(task.get("state"))] = counts.get(str(task.get("state")), 0) + 1
    facts = [
        f"run {_code(doc.get('run_id'))}",
        f"started {time_html(doc.get('start_time'))}",
        f'<span class="jtv-duration">{esc(timing)}</span>',
        f"{len(tasks)} tasks ({esc(', '.join(f'{n} {s.lower()}' for s, n in sorted(counts.items())))})"
        if tasks
        else "no tasks",
        f"{esc(doc.get('value_count', 0))} value{'' if doc.get('value_count', 0) == 1 else 's'}",
    ]
    if doc.get("repair_count"):
        facts.append(f"repaired {esc(doc['repair_count'])}×")
    parts = [
        '<div class="jtv-header" style="display:flex;flex-wrap:wrap;align-items:center;gap:8px">'
        '<span class="jtv-job" style="font-size:15px;font-weight:700">'
        f"{esc(doc.get('job_name') or '(unnamed job)')}</span>{badge(state)}</div>",
        f'<div style="margin:2px 0 4px 0">{" · ".join(facts)}</div>',
    ]
    parameters = doc.get("parameters") or {}
    if parameters:
        parts.append(
            _muted("Job parameters: ") + ", ".join(f"{_code(k)} = {_code(v)}" for k, v in parameters.items())
        )
    if doc.get("source"):
        parts.append("<div>" + _muted("Job file: ") + _code(doc["source"]) + "</div>")
    return f'<div class="jtv-run" style="{_BLOCK}">' + "".join(parts) + "</div>"


# -- task graph ----------------------------------------------------------------------------------------------


def _dependencies(task: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    result = []
    for dep in task.get("depends_on") or []:
        if isinstance(dep, Mapping) and isinstance(dep.get("task_key"), str):
            outcome = dep.get("outcome")
            result.append((dep["task_key"], str(outcome) if outcome is not None else None))
        elif isinstance(dep, str):
            result.append((dep, None))
    return result


def task_layers(tasks: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """Return the task keys in layers: a task sits one layer right of its deepest dependency.

    Dependencies on unknown tasks are ignored; tasks caught in a cycle (which job validation rejects) go in
    the first layer. Within a layer, tasks keep their definition order.
    """
    deps = {
        key: [d for d, _ in _dependencies(task) if d in tasks and d != key] for key, task in tasks.items()
    }
    layer: dict[str, int] = {}
    remaining = dict(deps)
    progressed = True
    while remaining and progressed:
        progressed = False
        for key, needs in list(remaining.items()):
            if all(d in layer for d in needs):
                layer[key] = 1 + max((layer[d] for d in needs), default=-1)
                del remaining[key]
                progressed = True
    for key in remaining:
        layer[key] = 0
    columns: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for key in tasks:
        columns[layer[key]].append(key)
    return columns


_EDGE = "var(--jp-content-font-color2,#757575)"
_INK = "var(--jp-content-font-color1,#212121)"
_NODE_W, _NODE_H, _GAP_X, _GAP_Y, _PAD = 168, 38, 44, 12, 6
_LABEL_CHARS = 20


def graph_html(doc: Mapping[str, Any], *, selected: str | None = None) -> str:
    """Return an inline SVG of the run's task graph, each task a box coloured by its state."""
    tasks: Mapping[str, Mapping[str, Any]] = doc.get("tasks") or {}
    if not tasks:
        return '<div class="jtv-graph">' + _muted("This run has no tasks.") + "</div>"
    columns = task_layers(tasks)
    where: dict[str, tuple[int, int]] = {}
    for col, keys in enumerate(columns):
        for row, key in enumerate(keys):
            where[key] = (_PAD + col * (_NODE_W + _GAP_X), _PAD + row * (_NODE_H + _GAP_Y))
    width = _PAD * 2 + len(columns) * (_NODE_W + _GAP_X) - _GAP_X
    height = _PAD * 2 + max(len(c) for c in columns) * (_NODE_H + _GAP_Y) - _GAP_Y
    edges = []
    for key, task in tasks.items():
        x2, y2 = where[key]
        for dep, outcome in _dependencies(task):
            if dep not in where or dep == key:
                continue
            x1, y1 = where[dep]
            sx, sy, ex, ey = x1 + _NODE_W, y1 + _NODE_H / 2, x2, y2 + _NODE_H / 2
            mid = (sx + ex) / 2
            edges.append(
                f'<path class="jtv-edge" d="M{sx},{sy} C{mid},{sy} {mid},{ey} {ex - 4},{ey}" fill="none" '
                'stroke-width="1.4" '
                f'style="stroke:{_EDGE}" marker-end="url(#jtv-arrow)"/>'
            )
            if outcome is not None:
                edges.append(
                    f'<text x="{mid}" y="{(sy + ey) / 2 - 3}" font-size="10" text-anchor="middle" '
                    f'style="fill:{_INK}">{esc(outcome)}</text>'
                )
    nodes = []
    for key, task in tasks.items():
        x, y = where[key]
        state = str(task.get("state") or "PENDING")
        fill = STATE_COLOURS.get(state, _UNKNOWN_COLOUR)
        ink = "#212121" if state in _DARK_TEXT else "#ffffff"
        label = key if len(key) <= _LABEL_CHARS else key[: _LABEL_CHARS - 1] + "…"
        chosen = key == selected
        stroke = (
            'style="stroke:var(--jp-brand-color0,#0d47a1)" stroke-width="3"'
            if chosen
            else 'stroke="rgba(0,0,0,0.25)" stroke-width="1"'
        )
        selected_attr = ' data-selected="true"'
        detail = state.lower().replace("_", " ")
        if task.get("type") == "for_each" and task.get("iterations") is not None:
            detail += f" · {len(task['iterations'])} iterations"
        elif task.get("values"):
            detail += f" · {len(task['values'])} value{'' if len(task['values']) == 1 else 's'}"
        tip = f"{key}\n{state} · {format_duration(task.get('duration_seconds'))}"
        nodes.append(
            f'<g class="jtv-node" data-task="{esc(key)}" data-state="{esc(state)}"'
            f"{selected_attr if chosen else ''}>"
            f"<title>{esc(tip)}</title>"
            f'<rect x="{x}" y="{y}" width="{_NODE_W}" height="{_NODE_H}" rx="6" fill="{fill}" {stroke}/>'
            f'<text x="{x + 8}" y="{y + 16}" font-size="12" font-weight="600" fill="{ink}">'
            f"{esc(label)}</text>"
            f'<text x="{x + 8}" y="{y + 31}" font-size="10" fill="{ink}">{esc(detail)}</text></g>'
        )
    marker = (
        '<defs><marker id="jtv-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" '
        f'orient="auto"><path d="M0,0 L8,4 L0,8 z" style="fill:{_EDGE}"/></marker></defs>'
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Task graph">'
        f"{marker}{''.join(edges)}{''.join(nodes)}</svg>"
    )
    return f'<div class="jtv-graph" style="overflow-x:auto;max-width:100%">{svg}</div>'


# -- one task ------------------------------------------------------------------------------------------------


def _error_html(error: Any) -> str:
    """Return an error as text: an ``{ename, evalue, traceback}`` object, a string, or any JSON."""
    if isinstance(error, Mapping):
        ename = error.get("ename") or error.get("type") or "Error"
        evalue = error.get("evalue") or error.get("message") or ""
        parts = [f'<div class="jtv-error-line">{_code(ename)}: {esc(_strip_ansi(str(evalue)))}</div>']
        traceback = error.get("traceback")
        if isinstance(traceback, list):
            traceback = "\n".join(str(line) for line in traceback)
        if traceback:
            parts.append(_pre(_strip_ansi(str(traceback)), "jtv-traceback"))
        extra = {
            k: v for k, v in error.items() if k not in ("ename", "evalue", "traceback", "type", "message")
        }
        if extra:
            parts.append(_muted(preview(extra, 400)))
        return '<div class="jtv-error">' + "".join(parts) + "</div>"
    return f'<div class="jtv-error">{_pre(_strip_ansi(str(error)), "jtv-traceback")}</div>'


def _values_table(values: Mapping[str, Any], info: Mapping[str, Any], *, show_attempt: bool = True) -> str:
    rows = []
    for key, value in values.items():
        found = info.get(key)
        meta: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        row = [
            _code(key),
            f'<span class="jtv-preview" style="{_MONO}">{esc(preview(value))}</span>',
            esc(json_type(value)),
            esc(format_size(meta.get("size"))),
            time_html(meta.get("set_at")),
        ]
        if show_attempt:
            row.append(esc(meta.get("attempt", "—")))
        rows.append(row)
    headers = ["key", "value", "type", "JSON size", "set at"] + (["attempt"] if show_attempt else [])
    return _table(headers, rows, css_class="jtv-values")


def _mapping_table(mapping: Mapping[str, Any], css_class: str) -> str:
    return _table(["name", "value"], [[_code(k), _code(v)] for k, v in mapping.items()], css_class=css_class)


def task_html(task: Mapping[str, Any]) -> str:
    """Return the details of one task of a run document: values, parameters, exit value, error, attempts..."""
    facts = [badge(task.get("state")), esc(task.get("type") or "notebook")]
    if task.get("duration_seconds") is not None:
        facts.append(esc(format_duration(task["duration_seconds"])))
    elif task.get("start_time"):
        facts.append("started " + time_html(task["start_time"]))
    deps = _dependencies(task)
    if deps:
        facts.append(
            "after "
            + ", ".join(_code(d) + (f" ({esc(o)})" if o is not None else "") for d, o in deps)
            + f" · run if {esc(task.get('run_if') or 'ALL_SUCCESS')}"
        )
    if task.get("outcome") is not None:
        facts.append("outcome " + _code(task["outcome"]))
    parts = [
        f'<div style="display:flex;flex-wrap:wrap;gap:8px;align-items:center">'
        f'<span class="jtv-task-key" style="font-weight:700">{esc(task.get("task_key"))}</span>'
        + " · ".join(facts)
        + "</div>"
    ]
    if task.get("notebook_path"):
        parts.append("<div>" + _muted("Notebook: ") + _code(task["notebook_path"]) + "</div>")
    if task.get("output_notebook"):
        parts.append("<div>" + _muted("Executed notebook: ") + _code(task["output_notebook"]) + "</div>")
    values = task.get("values") or {}
    if values:
        parts.append(_section(f"Values ({len(values)})", _values_table(values, task.get("value_info") or {})))
    elif task.get("iterations") is None:
        parts.append(_section("Values", _muted("No values set.")))
    if task.get("parameters"):
        parts.append(_section("Parameters", _mapping_table(task["parameters"], "jtv-parameters")))
    if task.get("exit_value") is not None:
        parts.append(
            _section(
                "Exit value", f'<div class="jtv-exit">{_pre(str(task["exit_value"]), "jtv-exit-value")}</div>'
            )
        )
    if task.get("error") is not None:
        parts.append(_section("Error", _error_html(task["error"])))
    attempts = task.get("attempts") or []
    if len(attempts) > 1 or any(a.get("error") for a in attempts if isinstance(a, Mapping)):
        rows = [
            [
                esc(a.get("attempt", i + 1)),
                badge(a.get("state")),
                time_html(a.get("start_time")),
                esc(format_duration(_duration(a))),
                esc(len(a.get("values") or {})),
                esc(_error_summary(a.get("error"))),
            ]
            for i, a in enumerate(attempts)
            if isinstance(a, Mapping)
        ]
        parts.append(
            _section(
                f"Attempts ({len(attempts)})",
                _table(
                    ["#", "state", "started", "duration", "values", "error"], rows, css_class="jtv-attempts"
                ),
            )
        )
    iterations = task.get("iterations")
    if iterations is not None:
        rows = [
            [
                esc(it.get("index")),
                f'<span style="{_MONO}">{esc(preview(it.get("input"), 40))}</span>',
                badge(it.get("state")),
                esc(format_duration(_duration(it))),
                ", ".join(f"{_code(k)} = {esc(preview(v, 30))}" for k, v in (it.get("values") or {}).items())
                or "—",
                esc(preview(it["exit_value"], 40)) if it.get("exit_value") is not None else "—",
                esc(_error_summary(it.get("error"))),
            ]
            for it in iterations
            if isinstance(it, Mapping)
        ]
        parts.append(
            _section(
                f"Iterations ({len(iterations)})",
                _table(
                    ["#", "input", "state", "duration", "values", "exit value", "error"],
                    rows,
                    css_class="jtv-iterations",
                ),
            )
        )
    history = task.get("history") or []
    if history:
        rows = [
            [
                esc(h.get("repair", i)),
                badge(h.get("state")),
                esc(len(h.get("attempts") or [])),
                esc(_error_summary(h.get("error"))),
            ]
            for i, h in enumerate(history)
            if isinstance(h, Mapping)
        ]
        parts.append(
            _section(
                "Before repair",
                _table(["repair", "state", "attempts", "error"], rows, css_class="jtv-history"),
            )
        )
    return f'<div class="jtv-task" style="{_BLOCK}">' + _TABLE_STYLE + "".join(parts) + "</div>"


def _duration(record: Mapping[str, Any]) -> float | None:
    try:
        return duration(record.get("start_time"), record.get("end_time"))
    except ValueError:
        return None


def _error_summary(error: Any) -> str:
    if error is None:
        return "—"
    if isinstance(error, Mapping):
        ename = error.get("ename") or error.get("type") or "Error"
        evalue = error.get("evalue") or error.get("message") or ""
        return _strip_ansi(f"{ename}: {evalue}")[:160]
    return _strip_ansi(str(error)).strip().splitlines()[-1][:160] if str(error).strip() else "—"


# -- one value -----------------------------------------------------------------------------------------------


def value_json_html(key: str, value: Any, info: Mapping[str, Any] | None = None, *, where: str = "") -> str:
    """Return one value in full: its key, type, size, time set, and its pretty-printed JSON."""
    meta = info or {}
    text = json.dumps(value, ensure_ascii=False, indent=2)
    facts = [
        esc(json_type(value)),
        esc(format_size(meta.get("size"))),
        "set " + time_html(meta.get("set_at")),
    ]
    title = _code(key) + (f" {_muted(where)}" if where else "")
    head = f"<div>{title} · {' · '.join(facts)}</div>"
    return f'<div class="jtv-value" style="{_BLOCK}">{head}{_pre(text, "jtv-json")}</div>'


# -- the interactive session ---------------------------------------------------------------------------------


def session_html(values: Mapping[str, Any], info: Mapping[str, Any], *, runs_dir: str | None = None) -> str:
    """Return the view of the interactive session's values (set outside a job run, kept in this kernel)."""
    intro = (
        '<div class="jtv-header" style="display:flex;flex-wrap:wrap;align-items:center;gap:8px">'
        '<span class="jtv-job" style="font-size:15px;font-weight:700">Interactive session</span>'
        f"{badge('SESSION')}</div>"
        "<div>"
        + _muted(
            "Values set with dbutils.jobs.taskValues.set outside a job run. They stay in this kernel and are "
            "not part of any run."
        )
        + "</div>"
    )
    if runs_dir is not None:
        intro += "<div>" + _muted("No job runs in ") + _code(runs_dir) + "</div>"
    body = (
        _section(f"Values ({len(values)})", _values_table(values, info, show_attempt=False))
        if values
        else _section("Values", _muted("No values set yet in this session."))
    )
    return f'<div class="jtv-run jtv-session" style="{_BLOCK}">{_TABLE_STYLE}{intro}{body}</div>'
