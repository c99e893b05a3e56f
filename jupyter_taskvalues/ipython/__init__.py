"""The IPython adapter: ``%load_ext jupyter_taskvalues`` (:mod:`.extension`), the ``%taskvalue`` magics
(:mod:`.magics`) and the first cell of a task's kernel (:mod:`.bootstrap`).
"""

from __future__ import annotations

__all__: list[str] = []
