"""The one ISO 8601 formatter and parser of the package: every time a run, a task or a value records.

Times are stored as UTC strings with milliseconds and a ``Z`` suffix (``2026-11-29T04:47:35.123Z``), written by
:func:`utcnow` (or :func:`format_time` for a given moment) and read back by :func:`parse_time`, which also takes
the ``+00:00`` form, other offsets and naive strings (read as UTC), so records written by other tools still
parse. :func:`seconds_between` is the duration of a task or run from two such strings.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["format_time", "parse_time", "seconds_between", "utcnow"]


def format_time(moment: dt.datetime) -> str:
    """Return ``moment`` as the stored form: UTC, milliseconds, ``Z`` (a naive ``moment`` is taken as UTC).

    Parameters
    ----------
    moment
        The time to format.

    Returns
    -------
    str
        For example ``"2026-11-29T04:47:35.123Z"``.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def utcnow() -> str:
    """Return the current UTC time in the stored form (``2026-11-29T04:47:35.123Z``)."""
    return format_time(dt.datetime.now(dt.timezone.utc))


def parse_time(stamp: str) -> dt.datetime:
    """Return the aware UTC datetime of a stored time string.

    Parameters
    ----------
    stamp
        An ISO 8601 string: ``...Z``, ``...+00:00``, another offset, or no offset at all (taken as UTC).

    Raises
    ------
    ValueError
        If ``stamp`` is not an ISO 8601 time; the message names it.
    """
    if not isinstance(stamp, str):
        raise ValueError(f"{stamp!r} is not an ISO 8601 time string (for example 2026-11-29T04:47:35.123Z).")
    text = stamp.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{stamp!r} is not an ISO 8601 time string (for example 2026-11-29T04:47:35.123Z)."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def seconds_between(start: str | None, end: str | None) -> float | None:
    """Return the seconds from ``start`` to ``end`` (stored time strings), or ``None`` if either is missing
    or does not parse."""
    if not start or not end:
        return None
    try:
        return (parse_time(end) - parse_time(start)).total_seconds()
    except ValueError:
        return None
