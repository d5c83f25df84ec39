"""The patch summary AWS-RunPatchBaseline prints: its counts, read from the log. Pure.

Linux prints a `... [INFO]: Summary: {...}` line (a Python dict repr); Windows a
"Patch Summary for <host>" block of `Key : value` lines (aws-ssm-facts section 4).
"""

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from instance_hygiene.secrets.redact import clean, cut

__all__ = ["LINUX_SUMMARY_MARK", "WINDOWS_SUMMARY_MARK", "PatchCounts", "parse_patch_summary"]


@dataclass(frozen=True)
class PatchCounts:
    """Counts from the patch summary of one run. `None`: not reported, or -1 ("unknown":
    Windows reports -1 for every count when the run failed)."""

    operation: str | None = None
    installed: int | None = None
    installed_other: int | None = None
    installed_pending_reboot: int | None = None
    installed_rejected: int | None = None
    missing: int | None = None
    failed: int | None = None
    not_applicable: int | None = None


_SUMMARY_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "InstalledCount": "installed",
        "InstalledOtherCount": "installed_other",
        "InstalledPendingRebootCount": "installed_pending_reboot",
        "InstalledRejectedCount": "installed_rejected",
        "MissingCount": "missing",
        "FailedCount": "failed",
        "NotApplicableCount": "not_applicable",
    }
)
LINUX_SUMMARY_MARK = "Summary:"
WINDOWS_SUMMARY_MARK = "Patch Summary for"
_MAX_SUMMARY_CHARS = 64 * 1024
_MAX_WINDOWS_BLOCK_LINES = 80
_MAX_SUMMARY_TRIES = 16
"""Only the last few summary marks are tried (earlier ones are superseded anyway)."""
_OPERATION_MAX_CHARS = 32
_REPR_PAIR = re.compile(
    r"""['"](?P<key>\w{1,64}+)['"][ \t]*+:[ \t]*+(?P<value>-?[0-9]{1,12}+|'[^'\n]{0,200}+')"""
)
_WINDOWS_PAIR = re.compile(r"[ \t]*+(?P<key>[A-Za-z]{1,64}+)[ \t]*+:(?P<value>[^\n]{0,1000}+)")


def _count(value: object) -> int | None:
    """A count as reported; negative (-1 = unknown), missing or malformed become None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[ \t]*-?[0-9]{1,12}[ \t]*", value):
        number = int(value)
    else:
        return None
    return number if number >= 0 else None


def _counts_from(fields: Mapping[str, object]) -> PatchCounts | None:
    if "OperationType" not in fields and not any(key in fields for key in _SUMMARY_FIELDS):
        return None
    reported = fields.get("OperationType")
    # Text from the log like any other: redacted, one line, short ("Scan" or "Install").
    operation = (
        cut(" ".join(clean(reported).split()).strip("'\""), _OPERATION_MAX_CHARS) or None
        if isinstance(reported, str)
        else None
    )
    counts = {attribute: _count(fields.get(key)) for key, attribute in _SUMMARY_FIELDS.items()}
    return PatchCounts(operation=operation, **counts)


def _parse_repr(text: str) -> Mapping[str, object] | None:
    """The Python dict repr after `Summary:`; literal_eval only, never eval."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        value = None
    if isinstance(value, dict):
        return {str(key): item for key, item in value.items()}
    # Not a literal (e.g. a datetime(...) inside): pick the plain key/value pairs.
    pairs = {m.group("key"): m.group("value") for m in _REPR_PAIR.finditer(text)}
    return pairs or None


def _last_linux_summary(text: str) -> tuple[int, PatchCounts] | None:
    end = len(text)
    for _ in range(_MAX_SUMMARY_TRIES):
        found = text.rfind(LINUX_SUMMARY_MARK, 0, end)
        if found < 0:
            break
        end = found
        start = found + len(LINUX_SUMMARY_MARK)
        line = text[start : start + _MAX_SUMMARY_CHARS].split("\n", 1)[0].strip()
        closing = line.rfind("}")
        if not line.startswith("{") or closing < 0:
            continue
        fields = _parse_repr(line[: closing + 1])
        counts = _counts_from(fields) if fields is not None else None
        if counts is not None:
            return found, counts
    return None


def _last_windows_summary(text: str) -> tuple[int, PatchCounts] | None:
    end = len(text)
    for _ in range(_MAX_SUMMARY_TRIES):
        found = text.rfind(WINDOWS_SUMMARY_MARK, 0, end)
        if found < 0:
            break
        end = found
        fields: dict[str, object] = {}
        block = text[found : found + _MAX_SUMMARY_CHARS]
        lines = block.split("\n", _MAX_WINDOWS_BLOCK_LINES + 1)[1 : _MAX_WINDOWS_BLOCK_LINES + 1]
        for line in lines:
            if not line.strip():
                if fields:
                    break
                continue
            pair = _WINDOWS_PAIR.fullmatch(line)
            if pair is not None:
                fields[pair.group("key")] = pair.group("value").strip()
            elif fields and not line.startswith((" ", "\t")):
                break  # the block is over (a wrapped value would be indented)
        counts = _counts_from(fields)
        if counts is not None:
            return found, counts
    return None


def parse_patch_summary(text: str) -> PatchCounts | None:
    """The counts of the last patch summary in `text`, or None when there is none.

    Linux: the last `... [INFO]: Summary: {...}` line, a Python dict repr read with
    `ast.literal_eval` (at most 64 KiB; when it is not a pure literal, the plain
    `'Key': value` pairs are picked out). Windows: the last "Patch Summary for <host>" block
    of `Key : value` lines. Counts of -1 ("unknown", as Windows reports them when the run
    failed) become None; the block still yields a PatchCounts (with its operation).
    """
    text = text.replace("\r\n", "\n")
    found = [
        summary for summary in (_last_linux_summary(text), _last_windows_summary(text)) if summary is not None
    ]
    if not found:
        return None
    return max(found, key=lambda summary: summary[0])[1]
