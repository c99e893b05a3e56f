"""The base of the extension's handlers: authentication, the store and manager, errors as JSON.

Every error body is ``{"message": str}``, with ``"problems": [str]`` added when a job file does not validate.
Errors of the package map to statuses in one table: a malformed id or bad input 400, an unknown run or task
404, a wrong state (:class:`~.manager.ConflictError`) 409, a store that cannot be read 500.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..exceptions import (
    InvalidRunIdError,
    JobSpecError,
    RunNotFoundError,
    StoreError,
    TaskNotFoundError,
    TaskValuesError,
)
from .manager import ConflictError, RunnerManager

if TYPE_CHECKING:
    from ..store import RunStore
    from .app import TaskValuesExtension

__all__ = ["AUTH_RESOURCE", "SETTINGS_KEY", "ApiError", "TaskValuesHandler", "http_error"]

AUTH_RESOURCE = "taskvalues"
#: Where the extension app puts itself in the tornado settings, for the handlers to find it.
SETTINGS_KEY = "taskvalues_extension"

T = TypeVar("T")

_STATUS: tuple[tuple[type[TaskValuesError], int], ...] = (
    (InvalidRunIdError, 400),
    (RunNotFoundError, 404),
    (TaskNotFoundError, 404),
    (ConflictError, 409),
    (StoreError, 500),
)


class ApiError(web.HTTPError):
    """An HTTP error whose JSON body lists ``problems`` besides its message."""

    def __init__(self, status_code: int, message: str, problems: list[str] | None = None) -> None:
        super().__init__(status_code, "%s", message)
        self.problems = list(problems or [])


def http_error(error: TaskValuesError) -> web.HTTPError:
    """Return the HTTP error for a package error (its status from the table, its message kept)."""
    if isinstance(error, JobSpecError):
        return ApiError(400, error.message, list(getattr(error, "problems", None) or [error.message]))
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return web.HTTPError(status, "%s", error.message)
    return web.HTTPError(400, "%s", error.message)


class TaskValuesHandler(APIHandler):  # type: ignore[misc]
    """Base of the extension's handlers: the store, the runner manager, errors as JSON, ETags."""

    auth_resource = AUTH_RESOURCE

    @property
    def extension(self) -> TaskValuesExtension:
        extension: TaskValuesExtension = self.settings[SETTINGS_KEY]
        return extension

    @property
    def store(self) -> RunStore:
        return self.extension.store

    @property
    def manager(self) -> RunnerManager:
        return self.extension.runner

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write ``{"message": ...}``, the message formatted from the error (it may contain ``%``)."""
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if isinstance(error, web.HTTPError) and error.log_message:
            message = error.log_message % error.args if error.args else error.log_message
        else:
            message = self._reason
        reply: dict[str, Any] = {"message": message}
        if isinstance(error, ApiError):
            reply["problems"] = error.problems
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(reply))

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run a store call off the event loop; turn package errors into HTTP errors with their message."""
        try:
            return await asyncio.to_thread(function, *args)
        except TaskValuesError as e:
            raise http_error(e) from e

    async def act(self, action: Awaitable[T]) -> T:
        """Await a manager action on the event loop; turn package errors into HTTP errors."""
        try:
            return await action
        except TaskValuesError as e:
            raise http_error(e) from e

    def json_body(self) -> dict[str, Any]:
        """Return the request's JSON object body (``{}`` when empty), or raise a 400 saying what is wrong."""
        raw = self.request.body
        if not raw or not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as e:
            raise web.HTTPError(400, "%s", f"The request body is not JSON: {e}.") from None
        if not isinstance(data, dict):
            raise web.HTTPError(400, "%s", "The request body must be a JSON object.")
        return data

    def string_argument(self, name: str, *, required: bool = True) -> str | None:
        """Return a query argument; a required one that is missing or empty is a 400 naming it."""
        value = self.get_query_argument(name, None)
        if required and not value:
            raise web.HTTPError(400, "%s", f"Query argument {name!r} is missing; give it as ?{name}=....")
        return value

    def int_argument(self, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        """Return an integer query argument, or raise a 400 that names it and its range."""
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = minimum - 1
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and {maximum}" if maximum is not None else ""
            message = f"Query argument {name!r} is {raw!r}; it must be an integer between {minimum}{upper}."
            raise web.HTTPError(400, "%s", message)
        return value

    def not_modified(self, etag: str) -> bool:
        """Set the ETag header; return True (with a 304 finished) when the client's copy is current."""
        quoted = f'"{etag}"'
        self.set_header("Etag", quoted)
        wanted = self.request.headers.get("If-None-Match", "")
        tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
        if quoted in tags or "*" in tags:
            self.set_status(304)
            self.finish()
            return True
        return False

    @property
    def root_dir(self) -> str:
        """The server's root directory (the contents manager's), where job files are looked up."""
        root = getattr(self.contents_manager, "root_dir", None)
        if not isinstance(root, str):
            raise web.HTTPError(400, "%s", "This server's contents manager has no root directory on disk.")
        return root

    def contents_path(self, path: Path) -> str | None:
        """Return ``path`` as a contents-manager path when the server can open it, else ``None``."""
        manager = self.contents_manager
        root = getattr(manager, "root_dir", None)
        if not isinstance(root, str):
            return None
        root_path = Path(root).resolve()
        if not path.is_relative_to(root_path):
            return None
        relative = path.relative_to(root_path).as_posix()
        hidden = any(part.startswith(".") for part in relative.split("/"))
        if hidden and not getattr(manager, "allow_hidden", False):
            return None
        return relative

    def reply(self, status: int, data: Any) -> None:
        """Finish with ``status`` and ``data`` as JSON."""
        self.set_status(status)
        self.finish(json.dumps(data))
