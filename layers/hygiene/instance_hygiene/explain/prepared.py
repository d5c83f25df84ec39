"""Log text ready to match: sanitized UTF-8 bytes, cut words dropped, lines redacted on demand.

Also the one place that loads RE2 (google-re2), lazily: the first summary pays its import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from instance_hygiene.secrets.redact import clean, redact, sanitize

__all__ = [
    "MAX_PROBE_CHARS",
    "Part",
    "drop_api_cuts",
    "drop_first_token",
    "drop_last_token",
    "prepare",
    "re2_module",
    "re2_options",
]

MAX_PROBE_CHARS = 4096
"""A quoted line keeps its first characters only."""
_TOKEN_BREAKS = (" ", "\t", "\n", "\r")
_API_TRUNCATED = re.compile(r"\n-{2,3}+(?:Output|Error) truncated-{2,4}+")


def re2_module() -> Any:
    import re2  # noqa: PLC0415 - loaded with the first summary, not at import

    return re2


def re2_options(*, case_sensitive: bool = True) -> Any:
    re2 = re2_module()
    options = re2.Options()
    options.never_nl = True
    options.log_errors = False
    options.max_mem = 64 << 20
    options.case_sensitive = case_sensitive
    return options


def _weird_pattern() -> Any:
    from instance_hygiene.secrets.redact import DROPPED  # noqa: PLC0415

    chars = "".join(f"\\x{{{code:x}}}" for code in sorted({*DROPPED, 0x0D, 0x1B, 0x2028, 0x2029}))
    return re2_module().compile(f"[{chars}]".encode(), re2_options())


_weird = cache(_weird_pattern)


@dataclass
class Part:
    """One read piece of one stream, ready to match: `data` is sanitized UTF-8."""

    order: int
    data: bytes
    redacted_all: list[str] | None = None
    """Every line redacted (private keys or escape sequences: the slow path), else None."""
    cache: dict[int, str] = field(default_factory=dict)
    """Redacted lines by start offset (filled by `Scan.reveal`)."""

    def shown(self, start: int, end: int) -> str:
        """The redacted text of the line data[start:end], first MAX_PROBE_CHARS characters."""
        if start in self.cache:
            return self.cache[start]
        if self.redacted_all is not None:
            index = self.data.count(b"\n", 0, start)
            text = self.redacted_all[index] if index < len(self.redacted_all) else ""
        else:
            text = redact(self.data[start:end][: MAX_PROBE_CHARS * 4].decode("utf-8", "replace"))
        text = text[:MAX_PROBE_CHARS]
        self.cache[start] = text
        return text


def prepare(text: str, order: int) -> Part:
    """`text` as bytes to match: untouched when there is nothing to sanitize (the usual log)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        data = b""
    else:
        if b"\r\n" in data:
            data = data.replace(b"\r\n", b"\n")
        if _weird().search(data) is None and b"PRIVATE KEY" not in data:
            return Part(order, data)
    raw = sanitize(text)
    return Part(order, raw.encode("utf-8"), clean(text).split("\n"))


def drop_last_token(text: str) -> str:
    """`text` without the characters after its last space or line break."""
    if not text or text[-1] in _TOKEN_BREAKS:
        return text
    return text[: max(text.rfind(c) for c in _TOKEN_BREAKS) + 1]


def drop_first_token(text: str) -> str:
    """`text` from its first space or line break on."""
    found = [index for index in (text.find(c) for c in _TOKEN_BREAKS) if index >= 0]
    return text[min(found) :] if found else ""


def drop_api_cuts(text: str) -> str:
    """Drop the word before each of the agent's truncation markers (it was cut)."""
    if "truncated-" not in text:
        return text
    parts: list[str] = []
    done = 0
    for marker in _API_TRUNCATED.finditer(text):
        parts.append(drop_last_token(text[done : marker.start()]))
        done = marker.start()
    parts.append(text[done:])
    return "".join(parts)
