"""The kernels that run tasks: started, readied and stopped (:mod:`.pool`), and the fork server
(:mod:`.forkserver`).
"""

from __future__ import annotations

__all__: list[str] = []
