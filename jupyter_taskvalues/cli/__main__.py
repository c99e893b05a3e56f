"""``python -m jupyter_taskvalues.cli``."""

from __future__ import annotations

import sys

from .main import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
