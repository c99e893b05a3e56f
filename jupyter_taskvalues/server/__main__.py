"""``python -m jupyter_taskvalues.server``: a Jupyter Server with the extension; ``--help-all`` lists its traits."""

from __future__ import annotations

from .app import TaskValuesExtension

__all__: list[str] = []

if __name__ == "__main__":
    TaskValuesExtension.launch_instance()  # type: ignore[no-untyped-call]
