"""Reading a chat (custom notification) payload as a client would, for the rendering tests."""

from __future__ import annotations

import json
from typing import Any


def every_string(payload: str) -> list[str]:
    """Every string a chat client shows or acts on, wherever it is in the payload (keys too)."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                out.append(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(payload))
    return out
