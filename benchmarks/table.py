"""The benchmark table: one :class:`Row` per figure, printed as text or Markdown, with its verdict."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any


@dataclass
class Row:
    name: str
    ours: str
    peer: str
    figure: str
    target: str
    passed: bool | None


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


def load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def print_table(rows: list[Row], out: Any = sys.stdout) -> None:
    header = ("benchmark", "jupyter-taskvalues", "peer", "figure", "target", "")
    cells = [header] + [
        (
            r.name,
            r.ours,
            r.peer,
            r.figure,
            r.target,
            "" if r.passed is None else "PASS" if r.passed else "MISS",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    print("\n".join(lines), file=out)


def markdown_table(rows: list[Row]) -> str:
    out = ["| benchmark | jupyter-taskvalues | peer | figure | target | |", "|---|---|---|---|---|---|"]
    for r in rows:
        verdict = "" if r.passed is None else "PASS" if r.passed else "MISS"
        out.append(f"| {r.name} | {r.ours} | {r.peer} | {r.figure} | {r.target} | {verdict} |")
    return "\n".join(out)
