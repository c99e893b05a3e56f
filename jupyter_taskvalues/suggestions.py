"""Close-match suggestions for error messages: "unknown task 'ingets'; did you mean 'ingest'?".

The one place the package turns a mistyped name into a suggestion, so every message suggests the same way.
:mod:`difflib` is imported when a suggestion is asked for: only a mistake pays for it.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["close_matches", "did_you_mean"]


def close_matches(word: str, choices: Iterable[str], *, n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Return up to ``n`` of ``choices`` closest to ``word``, best first (none closer than ``cutoff``).

    Parameters
    ----------
    word
        What was written.
    choices
        What could have been meant.
    n
        The most suggestions to return.
    cutoff
        How similar (0 to 1) a choice must be to be suggested.
    """
    import difflib  # only a mistake needs it

    return difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the choice closest to ``word``, or ``""`` when none is close."""
    close = close_matches(word, sorted(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
