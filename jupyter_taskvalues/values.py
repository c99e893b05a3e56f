"""The rules a task value and its key must follow, and the value's encoding.

Databricks stores a task value as JSON of at most 48 KiB, and at most 250 values per job run. We match that and
are stricter where Databricks is silent (SPEC §1, "ours"): NaN and Infinity are not JSON and are rejected, a dict
with non-string keys is rejected rather than coerced, and keys must be non-empty, at most 256 bytes, and free of
control characters (bidirectional controls included) and path separators.
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

from .exceptions import InvalidKeyError, InvalidValueError, ValueTooLargeError

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_VALUES_PER_RUN",
    "MAX_VALUE_BYTES",
    "check_key",
    "decode_value",
    "encode_value",
]

#: Largest JSON encoding of one value, in UTF-8 bytes (48 KiB, as Databricks).
MAX_VALUE_BYTES = 49_152
#: Default most values one job run may hold (as Databricks); ``RunStore(max_values=...)`` changes it.
MAX_VALUES_PER_RUN = 250
#: Longest key, in UTF-8 bytes.
MAX_KEY_BYTES = 256

_FORBIDDEN_KEY_CHARS = frozenset("/\\")
#: Bidirectional controls (Unicode's Bidi_Control): a key holding one displays as another text ("Trojan Source").
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_key(key: object, *, what: str = "Task value key") -> str:
    """Return ``key`` if it is a valid key, else raise :class:`InvalidKeyError` naming the rule it breaks."""
    if not isinstance(key, str):
        raise InvalidKeyError(f"{what} must be a string, not {type(key).__name__} ({key!r}).", key=repr(key))
    if not key:
        raise InvalidKeyError(f"{what} is empty; give it a name such as 'row_count'.", key=key)
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise InvalidKeyError(
            f"{what} {key[:40]!r}... is {size:,} bytes; the limit is {MAX_KEY_BYTES}. Use a shorter key.",
            key=key,
        )
    for char in key:
        if (
            char in _FORBIDDEN_KEY_CHARS
            or char in _BIDI_CONTROLS
            or unicodedata.category(char) in ("Cc", "Cs")
        ):
            raise InvalidKeyError(
                f"{what} {key!r} contains {char!r}; keys may not contain control characters (bidirectional "
                "controls included), surrogates or path separators ('/' and '\\'). Rename the key.",
                key=key,
            )
    if key in (".", ".."):
        raise InvalidKeyError(f"{what} {key!r} is reserved; rename the key.", key=key)
    return key


def encode_value(key: str, value: Any, *, task_key: str | None = None) -> str:
    """Return the compact JSON encoding of ``value``, or raise if it breaks a value rule.

    Tuples become lists (as JSON has no tuple). Anything else that is not plain JSON raises
    :class:`InvalidValueError`; an encoding over :data:`MAX_VALUE_BYTES` raises :class:`ValueTooLargeError`.
    """
    where = f"Task value {key!r}" + (f" of task {task_key!r}" if task_key else "")
    _check_json(value, where, key)
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:  # pragma: no cover - _check_json catches these first
        raise InvalidValueError(f"{where} is not representable as JSON: {e}.", key=key) from e
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as e:
        raise InvalidValueError(
            f"{where} holds a lone surrogate, which is not valid UTF-8 JSON. Remove it.", key=key
        ) from e
    if size > MAX_VALUE_BYTES:
        raise ValueTooLargeError(
            f"{where} is {size:,} bytes as JSON; the limit is {MAX_VALUE_BYTES:,}. "
            "Store a path to the data instead.",
            key=key,
            size=size,
        )
    return text


def decode_value(text: str) -> Any:
    """Decode a value encoded by :func:`encode_value` (each call returns a fresh copy)."""
    return json.loads(text)


def _check_json(value: Any, where: str, key: str, _depth: int = 0) -> None:
    """Walk ``value`` and raise :class:`InvalidValueError` at the first part that is not plain JSON."""
    if _depth > 200:
        raise InvalidValueError(f"{where} is nested more than 200 levels deep.", key=key)
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValueError(
                f"{where} contains {value!r}, which JSON cannot represent. Use None or a string.",
                key=key,
            )
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_json(item, where, key, _depth + 1)
        return
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str):
                raise InvalidValueError(
                    f"{where} has a dict key {name!r} of type {type(name).__name__}; JSON object keys "
                    "must be strings. Convert the keys with str() first.",
                    key=key,
                )
            _check_json(item, where, key, _depth + 1)
        return
    raise InvalidValueError(
        f"{where} is of type {type(value).__name__}, which is not representable as JSON. "
        "Use str, int, float, bool, None, list or dict.",
        key=key,
    )
