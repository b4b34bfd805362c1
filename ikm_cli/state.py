"""Where the running development stack (``ikm dev up``) says its parts are.

Standard library only: every command that looks a service up imports this, and ``ikm``
must start fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_DIR = Path(os.environ.get("IKM_STATE_DIR", ".ikm"))
STATE_FILE = STATE_DIR / "dev.json"


def read_state(path: Path | None = None) -> dict[str, Any] | None:
    """The dev stack's state file, or None when no stack is running."""
    path = path or STATE_FILE
    if not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def service_url(service: str, path: Path | None = None) -> str | None:
    state = read_state(path)
    if state is None:
        return None
    url = state.get("services", {}).get(service)
    return str(url).rstrip("/") if url else None


def kafka_address(path: Path | None = None) -> str | None:
    state = read_state(path)
    return str(state["kafka"]) if state and state.get("kafka") else None
