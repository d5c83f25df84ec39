"""How section 10 (issue 16: `org_doc`, `org_bucket`) writes its numbers: one place, so that the
tables and the sentences computed from them agree to the digit."""

from __future__ import annotations

import math


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def usd(value: float) -> str:
    return f"${value:,.4f}" if value < 10 else f"${value:,.2f}"


def size(value: float) -> str:
    """Bytes in decimal units (transfer is priced per GB of 10^9 bytes)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            return f"{value / scale:,.1f} {unit}"
    return f"{value:,.0f} B"


def peak(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def times(value: float) -> str:
    """A headroom or a ratio."""
    if math.isinf(value):
        return "unbounded"
    return f"{value:,.0f}x" if value >= 10 else f"{value:,.1f}x"


def calls(operations: dict[str, int]) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(operations.items())) or "none"
