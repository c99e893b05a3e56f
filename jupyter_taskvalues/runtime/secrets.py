"""``dbutils.secrets`` from a local backend, with secret values redacted from what the kernel sends.

Where secrets come from, first match wins:

1. **Environment variables** ``JUPYTER_TASKVALUES_SECRET_<SCOPE>__<KEY>`` (two underscores between scope and
   key). Scope and key are each written as the notebook names them
   (``JUPYTER_TASKVALUES_SECRET_prod-db__password``) or in their *portable* form: upper-cased, every character
   other than a letter or digit made ``_`` (``JUPYTER_TASKVALUES_SECRET_PROD_DB__PASSWORD``), since shells
   accept only the latter. ``get`` tries the name as written first.
2. **A secrets file** named by ``JUPYTER_TASKVALUES_SECRETS_FILE``: JSON ``{"scope": {"key": "value"}}``. It
   must be readable by its owner only (``chmod 600``): a file that its group or others can read is refused,
   as ssh refuses such a key.

``get`` of a secret that neither holds raises :class:`SecretNotFoundError` (a ``ValueError``, as Databricks'
``IllegalArgumentException``), naming the scope, the key and the variable to set.

**Listing**: ``listScopes`` and ``list`` give the names a notebook passes to ``get``. A portable form cannot be
read back (``PROD_DB`` is the portable form of ``prod-db``, ``prod_db`` and ``Prod.DB``): a scope or key that a
variable gives only in portable form is listed as the name the secrets file or another variable writes out
whose portable form it is, and otherwise lower-cased (``prod_db``), a name ``get`` finds it by. Each secret is
listed once.

**Redaction**: every value ``get``/``getBytes`` returned in this process is replaced by ``[REDACTED]`` in what
the kernel sends (streams, rich outputs, results and errors), as Databricks does, so the executed notebook a
run keeps never holds it; the forms ``repr`` and JSON give it too (``print([secret])``, a dict shown as JSON,
where quotes, backslashes, newlines and non-ASCII characters are escaped), and for ``getBytes`` the ``repr`` of
the bytes (what ``print(b)`` shows of a secret that is not plain ASCII: ``b'caf\\xc3\\xa9'``). Values shorter
than :data:`MIN_REDACTED_LENGTH` characters are not redacted: they would match everywhere. A value is still
yours in Python: ``len(dbutils.secrets.get(...))`` is its length.

Deliberately, this module reads ``os.environ`` itself (the variables *are* the backend), unlike the rest of
the package, which reads its environment in :mod:`jupyter_taskvalues.context` only.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import stat
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from ..exceptions import TaskValuesError

__all__ = [
    "MIN_REDACTED_LENGTH",
    "REDACTED",
    "SECRETS_FILE_ENV",
    "SECRET_ENV_PREFIX",
    "SecretMetadata",
    "SecretNotFoundError",
    "SecretScope",
    "SecretsFileError",
    "SecretsUtils",
    "install_redaction",
    "redact",
    "secret_variable",
]

SECRET_ENV_PREFIX = "JUPYTER_TASKVALUES_SECRET_"
SECRETS_FILE_ENV = "JUPYTER_TASKVALUES_SECRETS_FILE"
REDACTED = "[REDACTED]"
MIN_REDACTED_LENGTH = 4

_SEPARATOR = "__"
_NOT_WORD = re.compile(r"[^A-Za-z0-9]")


class SecretNotFoundError(TaskValuesError, ValueError):
    """No secret with that scope and key in the environment or the secrets file."""


class SecretsFileError(TaskValuesError, PermissionError):
    """The secrets file cannot be used: readable by others, unreadable, or not the expected JSON."""


class SecretMetadata(NamedTuple):
    """One entry of ``dbutils.secrets.list(scope)``, as on Databricks."""

    key: str


class SecretScope(NamedTuple):
    """One entry of ``dbutils.secrets.listScopes()``, as on Databricks."""

    name: str


def _portable(name: str) -> str:
    return _NOT_WORD.sub("_", name).upper()


def secret_variable(scope: str, key: str) -> str:
    """Return the portable environment variable name for secret ``key`` of ``scope``."""
    return SECRET_ENV_PREFIX + _portable(scope) + _SEPARATOR + _portable(key)


_lock = threading.Lock()
_seen: set[str] = set()
_pattern: re.Pattern[str] | None = None


def _remember(forms: Iterable[str]) -> None:
    """Redact ``forms`` (the ways one secret can be shown) from now on: the pattern is built again once."""
    global _pattern
    with _lock:
        new = {form for form in forms if len(form) >= MIN_REDACTED_LENGTH} - _seen
        if not new:
            return
        _seen.update(new)
        # Longest first, so a secret that contains another is redacted whole.
        _pattern = re.compile("|".join(re.escape(v) for v in sorted(_seen, key=len, reverse=True)))


def _text_forms(value: str) -> set[str]:
    """What ``repr`` and JSON show of ``value`` inside a string literal: ``str([secret])``, an error's repr or a
    dict printed as JSON escape quotes, backslashes, newlines and (JSON) non-ASCII characters."""
    return {
        value,
        repr(value + '"')[1:-2],  # in '...' (a ' is escaped)
        repr(value + "'")[1:-2],  # in "..." (when the text around it has a ' and no ")
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }


def _bytes_forms(data: bytes) -> set[str]:
    """What ``repr`` shows of ``data`` inside a bytes literal: with ``'`` escaped (``b'...'`` around a ``'``) or
    not (``b"..."``), whichever quote the bytes around it make ``repr`` choose."""
    return {repr(data + b'"')[2:-2], repr(data)[2:-1]}


def redact(obj: Any) -> Any:
    """Return ``obj`` (text, or JSON-like lists and dicts of it) with every secret value read so far redacted."""
    pattern = _pattern
    if pattern is None:
        return obj
    if isinstance(obj, str):
        return pattern.sub(REDACTED, obj)
    if isinstance(obj, dict):
        return {key: redact(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact(item) for item in obj)
    return obj


def install_redaction(shell: Any) -> None:
    """Make the kernel behind ``shell`` redact secret values from every message it sends.

    Wraps the kernel session's ``send`` (which streams, displays, results and errors all go through). A plain
    IPython shell with no kernel is left alone. Harmless when called again.
    """
    session = getattr(getattr(shell, "kernel", None), "session", None)
    send = getattr(session, "send", None)
    if session is None or send is None or getattr(send, "_jupyter_taskvalues_redacting", False):
        return

    def redacting_send(stream: Any, msg_or_type: Any, content: Any = None, *args: Any, **kwargs: Any) -> Any:
        if _pattern is not None:
            if isinstance(msg_or_type, dict) and "content" in msg_or_type:
                msg_or_type = {**msg_or_type, "content": redact(msg_or_type["content"])}
            content = redact(content)
        return send(stream, msg_or_type, content, *args, **kwargs)

    redacting_send._jupyter_taskvalues_redacting = True  # type: ignore[attr-defined]
    session.send = redacting_send


def _file_secrets() -> dict[str, dict[str, str]]:
    name = os.environ.get(SECRETS_FILE_ENV)
    if not name:
        return {}
    path = Path(name).expanduser()
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretsFileError(
                f"The secrets file {str(path)!r} (from {SECRETS_FILE_ENV}) can be read by its group or others "
                f"(mode {stat.filemode(mode)}); it is not used. Run: chmod 600 {path}",
                path=str(path),
            )
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise SecretsFileError(
            f"Cannot read the secrets file {str(path)!r} (from {SECRETS_FILE_ENV}): {e.strerror or e}.",
            path=str(path),
        ) from e
    except ValueError as e:
        raise SecretsFileError(
            f'The secrets file {str(path)!r} is not valid JSON ({e}). Write {{"scope": {{"key": "value"}}}}.',
            path=str(path),
        ) from e
    if not isinstance(data, dict) or not all(
        isinstance(keys, dict) and all(isinstance(v, str) for v in keys.values()) for keys in data.values()
    ):
        raise SecretsFileError(
            f"The secrets file {str(path)!r} must hold a JSON object of scopes, each an object of string "
            'values: {"scope": {"key": "value"}}.',
            path=str(path),
        )
    return {str(scope): {str(k): v for k, v in keys.items()} for scope, keys in data.items()}


def _env_secrets() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for name, value in os.environ.items():
        if name.startswith(SECRET_ENV_PREFIX) and _SEPARATOR in name[len(SECRET_ENV_PREFIX) :]:
            scope, key = name[len(SECRET_ENV_PREFIX) :].split(_SEPARATOR, 1)
            if scope and key:
                found.setdefault(scope, {})[key] = value
    return found


def _lookup(scope: str, key: str) -> str | None:
    for found_scope in dict.fromkeys((scope, _portable(scope))):  # as written first
        for found_key in dict.fromkeys((key, _portable(key))):
            value = os.environ.get(SECRET_ENV_PREFIX + found_scope + _SEPARATOR + found_key)
            if value is not None:
                return value
    return _file_secrets().get(scope, {}).get(key)


def _as_named(from_variables: Iterable[str], written: Iterable[str]) -> builtins.list[str]:
    """The names of ``from_variables`` as a notebook passes them to ``get`` (see the module), sorted.

    ``written`` are the names known as written (the secrets file's); so is a variable's name that is not in
    portable form.
    """
    from_variables = set(from_variables)
    exact = set(written) | {name for name in from_variables if _portable(name) != name}
    named = set(exact)
    for name in from_variables - exact:
        if not any(_portable(known) == name for known in exact):
            named.add(name.lower())
    return sorted(named)


class SecretsUtils:
    """``dbutils.secrets``: read secrets from environment variables or a 0600 secrets file (see module)."""

    def get(self, scope: str, key: str) -> str:
        """Return the secret ``key`` of ``scope`` as a string; it is redacted from the kernel's outputs.

        Raises
        ------
        SecretNotFoundError
            (a ``ValueError``) no such secret; the message names the scope, the key and the variable to set.
        SecretsFileError
            The secrets file is readable by others, unreadable or malformed.
        """
        value = _lookup(scope, key)
        if value is None:
            raise SecretNotFoundError(
                f"Secret does not exist with scope: {scope} and key: {key}. Set the environment variable "
                f"{secret_variable(scope, key)}, or add it to the secrets file named by {SECRETS_FILE_ENV} "
                f'({{"{scope}": {{"{key}": "..."}}}}).',
                scope=scope,
                key=key,
            )
        _remember(_text_forms(value))
        return value

    def getBytes(self, scope: str, key: str) -> bytes:
        """Return the secret ``key`` of ``scope`` as UTF-8 bytes (see :meth:`get`); their ``repr`` is redacted
        too."""
        value = self.get(scope, key).encode("utf-8")
        _remember(_bytes_forms(value))
        return value

    def list(self, scope: str) -> list[SecretMetadata]:
        """Return the keys of ``scope`` (never the values).

        Raises
        ------
        SecretNotFoundError
            No secret of ``scope`` exists.
        """
        from_variables = {
            key
            for found_scope, found in _env_secrets().items()
            if found_scope in (scope, _portable(scope))
            for key in found
        }
        from_file = _file_secrets().get(scope, {})
        if not from_variables and not from_file:
            raise SecretNotFoundError(
                f"Scope {scope} does not exist: no {SECRET_ENV_PREFIX}{_portable(scope)}__<KEY> "
                f"variable and no {scope!r} in the secrets file named by {SECRETS_FILE_ENV}.",
                scope=scope,
            )
        return [SecretMetadata(key) for key in _as_named(from_variables, from_file)]

    def listScopes(self) -> builtins.list[SecretScope]:
        """Return every scope the environment and the secrets file define, named as ``get`` takes them."""
        return [SecretScope(name) for name in _as_named(_env_secrets(), _file_secrets())]

    def help(self, method: str | None = None) -> None:
        """Print what ``dbutils.secrets`` offers."""
        print(__doc__ if method is None else getattr(self, method).__doc__)

    def __repr__(self) -> str:
        return "Package 'dbutils.secrets' (jupyter-taskvalues). For more information, type 'dbutils.secrets.help()'."
