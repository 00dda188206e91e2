"""The deploy tests share ``deploy_data`` (the compose file, rendered manifests, the names the
Settings read); this folder is put on sys.path for it (pytest runs with importlib mode)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
