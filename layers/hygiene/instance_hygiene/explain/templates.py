"""Reason and next-step templates of the rule catalogue, and the severity order. Pure.

Kept apart from rules.py (pydantic models, TOML) so that matching needs neither at import.
"""

import re
from collections.abc import Mapping

__all__ = ["SEVERITY_RANK", "fill", "placeholders"]

SEVERITY_RANK: Mapping[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1}
"""The engine picks the highest rank first, then the earliest line."""

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]{0,31})\}")


def placeholders(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template)


def fill(template: str, values: Mapping[str, str | None]) -> str:
    """`template` with `{name}` replaced; an `[...]` segment whose placeholders are not all
    known is dropped (segments do not nest). A placeholder outside a segment with no value
    becomes "?"."""
    out: list[str] = []
    position = 0
    while position < len(template):
        start = template.find("[", position)
        if start < 0:
            out.append(_fill_plain(template[position:], values))
            break
        end = template.find("]", start)
        if end < 0:
            out.append(_fill_plain(template[position:], values))
            break
        out.append(_fill_plain(template[position:start], values))
        segment = template[start + 1 : end]
        if all(values.get(name) for name in placeholders(segment)):
            out.append(_fill_plain(segment, values))
        position = end + 1
    return " ".join("".join(out).split())


def _fill_plain(text: str, values: Mapping[str, str | None]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1)) or "?", text)
