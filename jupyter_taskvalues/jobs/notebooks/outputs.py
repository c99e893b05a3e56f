"""Output caps for an executed notebook before it is kept: :func:`cap_outputs`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = ["cap_outputs"]


def cap_outputs(nb: NotebookNode, max_bytes_per_output: int) -> bool:
    """Truncate, in place, every output of ``nb`` larger than ``max_bytes_per_output`` UTF-8 bytes.

    Consecutive stream outputs of one stream (a loop printing line after line) count as one output: when
    together they pass the limit they are merged first. Text keeps its first and last halves around a note
    saying how much was cut; a non-text representation (an image, HTML) over the limit is dropped in favour of
    its ``text/plain`` one, or of a note. Error tracebacks are capped the same way.

    Returns
    -------
    bool
        Whether anything was truncated.
    """
    if max_bytes_per_output <= 0:
        raise ValueError(f"max_bytes_per_output must be positive, not {max_bytes_per_output!r}.")
    truncated = False
    for cell in nb.cells:
        outputs = cell.get("outputs")
        if not outputs:
            continue
        outputs[:] = _merge_large_streams(outputs, max_bytes_per_output)
        for output in outputs:
            truncated |= _cap_output(output, max_bytes_per_output)
    return truncated


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _merge_large_streams(outputs: list[Any], limit: int) -> list[Any]:
    merged: list[Any] = []
    run: list[Any] = []

    def flush() -> None:
        if len(run) > 1 and sum(_size(_text(o.get("text", ""))) for o in run) > limit:
            first = run[0]
            first["text"] = "".join(_text(o.get("text", "")) for o in run)
            merged.append(first)
        else:
            merged.extend(run)
        run.clear()

    for output in outputs:
        if output.get("output_type") == "stream" and (not run or run[0].get("name") == output.get("name")):
            run.append(output)
            continue
        flush()
        if output.get("output_type") == "stream":
            run.append(output)
        else:
            merged.append(output)
    flush()
    return merged


def _truncate(text: str, limit: int) -> str:
    data = text.encode("utf-8", "surrogatepass")
    half = limit // 2
    head = data[:half].decode("utf-8", "ignore")
    tail = data[len(data) - half :].decode("utf-8", "ignore") if half else ""
    note = (
        f"\n[... output truncated: {len(data):,} bytes, over the {limit:,}-byte limit per output; "
        f"the first and last {half:,} bytes are kept ...]\n"
    )
    return head + note + tail


def _cap_output(output: Any, limit: int) -> bool:
    kind = output.get("output_type")
    if kind == "stream":
        text = _text(output.get("text", ""))
        if _size(text) > limit:
            output["text"] = _truncate(text, limit)
            return True
        return False
    if kind == "error":
        changed = False
        evalue = _text(output.get("evalue", ""))
        if _size(evalue) > limit:
            output["evalue"] = _truncate(evalue, limit)
            changed = True
        traceback = "\n".join(output.get("traceback", []))
        if _size(traceback) > limit:
            output["traceback"] = _truncate(traceback, limit).split("\n")
            changed = True
        return changed
    data = output.get("data")
    if not isinstance(data, dict):
        return False
    changed = False
    for mime in list(data):
        value = data[mime]
        if not isinstance(value, (str, list)):
            continue  # JSON mime bundles are objects; their size is the kernel's business
        text = _text(value)
        size = _size(text)
        if size <= limit:
            continue
        changed = True
        if mime == "text/plain":
            data[mime] = _truncate(text, limit)
        else:
            del data[mime]
            plain = _text(data.get("text/plain", ""))
            note = f"[{mime} output of {size:,} bytes dropped: over the {limit:,}-byte limit per output]"
            data["text/plain"] = (plain + "\n" + note) if plain else note
    return changed
