"""Summarise one failed command invocation: reason, exit code, excerpt, patch counts. Pure.

Input is what the fleet and log adapters found for one instance and one step: the
invocation's status and status details, the step's response code, and the head/tail of its
stdout and stderr (either may be missing). Output is a `FailureSummary` whose `reason` is one
short human line; `signature(reason)` is what the digest groups failures by.

How the reason is chosen, first match wins:
1. status details that mean the script never ran or was stopped (DeliveryTimedOut,
   Undeliverable, Terminated, InvalidPlatform, AccessDenied, Cancelled, ExecutionTimedOut,
   ...): a fixed line; ExecutionTimedOut adds the step and any known failure text found;
2. healthcheck output (documents/scripts/healthcheck.sh and .ps1):
   `HEALTHCHECK FAIL k of n checks failed: a, b`, else the `CHECK <name> FAIL` lines;
3. known AWS-RunPatchBaseline failure texts (aws-ssm-facts section 4) and lock/dpkg states;
4. Windows Update failures, quoting the HRESULT (`Windows Update search failed (0x80240437)`);
5. an exit code with a specific meaning for the document (`exit code 156: payload download
   failed`); codes 0, 1, -1/4294967295, 126 and 127 are too vague and wait for step 8;
6. generic hints (disk full, DNS, repository metadata, out of memory, access denied);
7. the exception of a Python traceback, else the first error-level line (`[ERROR]`, `E:`,
   `Error:`, `...Exception:`), else the last line with an error word (failed, denied, ...);
8. exit code 0: "failed although the step exited with code 0"; else the exit code's generic
   meaning, then the last meaningful line, then "failed with exit code N, no output
   available" / "failed, no output available".
The harmless "[WARNING]: Unable to gain necessary access for possible kernel updates" is
never a reason nor an error line.

Exit codes: `exit_code` is the step's ResponseCode. SSM reports -1 for a step that never ran,
so with a status detail saying it never ran (or was cut short) -1 becomes `None`. Otherwise -1
and 4294967295 (the same value seen as unsigned, as Windows shows it) are kept: the script
failed without an exit code of its own, typically a PowerShell terminating error.
When no ResponseCode is known, the agent's "failed to run commands: exit status N" line
supplies it.

Everything quoted from a log goes through `redact.clean` (escape sequences, control
characters and secrets removed) before it reaches a reason, an excerpt or the patch operation.

Where a stream was cut (the end of a head read, the start of a tail read that begins mid-line,
the text before the agent's "---Output truncated---" marker in the API output), the word the
cut went through is dropped: it may be the first or last characters of a secret that redaction
cannot recognise from a fragment.
"""

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from instance_hygiene.redact import clean, sanitize

__all__ = [
    "DEFAULT_EXCERPT_LINES",
    "EXCERPT_LINE_MAX_CHARS",
    "GENERIC_EXIT_CODES",
    "HEALTHCHECK_EXIT_CODES",
    "HEALTHCHECK_STEPS",
    "PATCH_EXIT_CODES",
    "PATCH_STEPS",
    "REASON_MAX_CHARS",
    "FailureSummary",
    "PatchCounts",
    "StreamText",
    "describe_exit_code",
    "parse_patch_summary",
    "signature",
    "summarise_failure",
]

REASON_MAX_CHARS = 200
EXCERPT_LINE_MAX_CHARS = 300
DEFAULT_EXCERPT_LINES = 8

_MINUS_ONE = "the script failed without an exit code of its own (-1, on Windows shown as 4294967295)"

GENERIC_EXIT_CODES: Mapping[int, str] = MappingProxyType(
    {
        0: "success",
        126: "command not executable / permission denied",
        127: "command not found",
        130: "interrupted (SIGINT)",
        137: "killed (SIGKILL, often out of memory)",
        143: "terminated (SIGTERM)",
        3010: "reboot requested (Windows)",
        -1: _MINUS_ONE,
        4294967295: _MINUS_ONE,
    }
)
"""Exit codes any shell or PowerShell step can return (3010 asks the agent to reboot Windows)."""

PATCH_EXIT_CODES: Mapping[int, str] = MappingProxyType(
    {
        **GENERIC_EXIT_CODES,
        0: "success",
        1: "failure",
        2: "dependency-check failure",
        3: "failed to reboot 4 times",
        146: "unsupported OS",
        152: "payload could not be extracted",
        155: "tar extraction failed",
        156: "payload download failed",
        194: "reboot requested",
        195: "reboot requested with failures",
        196: "reboot requested with dependency-check failure",
    }
)
"""AWS-RunPatchBaseline exit codes (aws-ssm-facts section 4) plus the generic ones."""

HEALTHCHECK_EXIT_CODES: Mapping[int, str] = MappingProxyType(
    {**GENERIC_EXIT_CODES, 0: "all checks passed", 1: "checks failed", 2: "bad arguments"}
)
"""Exit codes of our healthcheck scripts plus the generic ones."""

PATCH_STEPS = frozenset({"PatchLinux", "PatchWindows", "PatchMacOS"})
HEALTHCHECK_STEPS = frozenset(
    {
        "DownloadLinuxHealthcheck",
        "RunLinuxHealthcheck",
        "DownloadWindowsHealthcheck",
        "RunWindowsHealthcheck",
        "RunMacOSHealthcheck",
    }
)

# Codes whose meaning is too vague to be the reason while the log may say more.
_VAGUE_EXIT_CODES = frozenset({0, 1, -1, 4294967295, 126, 127})


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


@dataclass(frozen=True)
class StreamText:
    """A log stream as read: the whole text (`complete`, `tail` empty) or its head and tail."""

    head: str
    tail: str = ""
    complete: bool = True


@dataclass(frozen=True)
class FailureSummary:
    reason: str
    """One line, at most REASON_MAX_CHARS characters, secrets redacted."""
    exit_code: int | None
    exit_meaning: str | None
    excerpt: tuple[str, ...]
    """The lines that explain the failure, in log order (stdout before stderr), each cleaned and
    at most EXCERPT_LINE_MAX_CHARS characters."""
    patch: PatchCounts | None


# --------------------------------------------------------------------------- patch summary

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
_LINUX_SUMMARY_MARK = "Summary:"
_WINDOWS_SUMMARY_MARK = "Patch Summary for"
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
        _cut(" ".join(clean(reported).split()).strip("'\""), _OPERATION_MAX_CHARS) or None
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
        found = text.rfind(_LINUX_SUMMARY_MARK, 0, end)
        if found < 0:
            break
        end = found
        start = found + len(_LINUX_SUMMARY_MARK)
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
        found = text.rfind(_WINDOWS_SUMMARY_MARK, 0, end)
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


# --------------------------------------------------------------------------- signature

_SIGNATURE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"(?<![a-z0-9])m?i-[0-9a-f]{8}(?:[0-9a-f]{9})?(?![a-z0-9])"), "<instance>"),
    (re.compile(r"(?<![a-z0-9])ip-[0-9]{1,3}-[0-9]{1,3}-[0-9]{1,3}-[0-9]{1,3}(?![0-9])"), "<host>"),
    (re.compile(r"(?<![a-z0-9])ec2amaz-[a-z0-9]{4,15}(?![a-z0-9])"), "<host>"),
    (
        re.compile(
            r"(?<![0-9])[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[t ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
            r"(?:z|[+-][0-9]{2}:?[0-9]{2})?)?(?![0-9])"
        ),
        "<time>",
    ),
    (re.compile(r"(?<![0-9])[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4}(?![0-9])"), "<date>"),
    (re.compile(r"(?<![0-9])[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?![0-9])"), "<time>"),
    (re.compile(r"(?<![0-9.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?::[0-9]{1,5})?(?![0-9])"), "<ip>"),
    # HRESULT-shaped failure codes identify the failure kind: kept. Other hex is noise.
    (re.compile(r"(?<![a-z0-9])0x(?![89c][0-9a-f]{7}(?![0-9a-f]))[0-9a-f]++"), "<hex>"),
)
_LONG_HEX = re.compile(r"(?<![a-z0-9])[0-9a-f]{8,}+(?![a-z0-9])")
_SIZE = re.compile(r"(?<![a-z0-9_])[0-9]++(?:\.[0-9]++)*+[ ]?(?:[kmgtp]i?b|bytes?)(?![a-z])")
_PERCENT = re.compile(r"(?<![a-z0-9_])[0-9]++(?:\.[0-9]++)?%")
_NUMBER = re.compile(
    r"(?<![a-z0-9_])(?<!exit code )(?<!exit status )(?<!exit code -)(?<!exit status -)"
    r"[0-9]++(?:\.[0-9]++)*+(?!x[0-9a-f])"
)


def _hex_run(match: re.Match[str]) -> str:
    run = match.group(0)
    return "<hex>" if any(c.isdigit() for c in run) else run


def signature(reason: str) -> str:
    """A grouping key: the reason with the parts that differ between hosts replaced.

    Lowercased, whitespace collapsed; uuids (command ids), instance ids (i-, mi-), EC2 host
    names, dates and times, IPv4 addresses, hex (0x..., runs of 8+ hex digits), sizes,
    percentages and numbers become `<uuid>`, `<instance>`, `<host>`, `<date>`/`<time>`,
    `<ip>`, `<hex>`, `<size>`, `<pct>`, `<n>`. Two things are kept because they tell failure
    kinds apart: HRESULT-shaped codes (0x8xxxxxxx, 0x9..., 0xCxxxxxxx such as 0x80240437) and
    the number after "exit code"/"exit status". Idempotent: signature(signature(x)) equals
    signature(x).
    """
    text = " ".join(reason.lower().split())
    # A replacement can expose a new match (in "0ec2amaz-..." the host name only stands alone
    # once the "0" is "<n>"): repeat until nothing changes. Placeholders never match a rule,
    # so each round only shrinks what is left to replace, and it settles within a few rounds.
    for _ in range(8):
        normalised = _normalise(text)
        if normalised == text:
            break
        text = normalised
    return text


def _normalise(text: str) -> str:
    for pattern, placeholder in _SIGNATURE_RULES:
        text = pattern.sub(placeholder, text)
    text = _LONG_HEX.sub(_hex_run, text)
    text = _SIZE.sub("<size>", text)
    text = _PERCENT.sub("<pct>", text)
    return _NUMBER.sub("<n>", text)


# --------------------------------------------------------------------------- log lines

_MAX_PROBE_CHARS = 4096
"""Only the first characters of a line are matched against the failure patterns."""
_MAX_FIRST_LINES = 1_000
_MAX_LAST_LINES = 4_000
"""Of a head or tail with more lines, only its first and last lines are looked at."""

_HARMLESS = re.compile(r"unable to gain necessary access for possible kernel updates", re.IGNORECASE)
_NOISE = re.compile(
    r"[ \t]*+(?:-{2,}+(?:output|error) truncated-{2,}+|-{5,}+ERROR-{5,}+)[ \t]*+", re.IGNORECASE
)
_API_TRUNCATED = re.compile(r"\n-{2,3}+(?:Output|Error) truncated-{2,4}+")
"""The agent's marker after the text it cut, in the API's 2,500-character output."""
_TOKEN_BREAKS = (" ", "\t", "\n", "\r")
_AGENT_EXIT = re.compile(r"failed to run commands: exit status (?P<code>-?[0-9]{1,10})\b")
_HAS_WORD = re.compile(r"[A-Za-z0-9]")

_LOG_PREFIX = re.compile(
    r"[ \t]*+(?:[0-9]{1,4}[/-][0-9]{1,2}[/-][0-9]{1,4}[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]++)?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?[ \t]++)?"
    r"(?:[\w.-]{1,64}+[ \t]++)?\[(?:ERROR|CRITICAL|FATAL|WARNING|WARN|INFO|DEBUG)\]:?[ \t]*+"
)

_CHECK = re.compile(r"(?:^|[ \t])CHECK[ \t]++(?P<name>\S{1,200}+)[ \t]++(?P<result>PASS|FAIL|SKIP)\b")
_HEALTHCHECK_FAIL = re.compile(
    r"HEALTHCHECK[ \t]++FAIL[ \t]++(?P<failed>[0-9]{1,6}+)[ \t]++of[ \t]++(?P<total>[0-9]{1,6}+)"
    r"[ \t]++checks?[ \t]++failed:?+(?P<names>[^\n]*+)"
)

_KNOWN_FAILURES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"another process has acquired yum lock|another app is currently holding the yum lock"
            r"|existing lock /var/run/yum\.pid",
            re.IGNORECASE,
        ),
        "yum lock held by another process",
    ),
    (
        re.compile(
            r"could not get lock /var/lib/(?:dpkg|apt)|unable to acquire the dpkg frontend lock",
            re.IGNORECASE,
        ),
        "apt/dpkg lock held by another process",
    ),
    (re.compile(r"dpkg was interrupted", re.IGNORECASE), "dpkg was interrupted: run 'dpkg --configure -a'"),
    (
        re.compile(r"\[errno 256\] no more mirrors to try", re.IGNORECASE),
        "yum repositories unreachable: no more mirrors to try",
    ),
    (
        re.compile(r"apt requires python ?3 to be installed", re.IGNORECASE),
        "apt patching requires python3 on the instance",
    ),
    (
        re.compile(r"_script\.(?:sh|ps1): permission denied", re.IGNORECASE),
        "agent script not executable: permission denied (is /var/lib/amazon mounted noexec?)",
    ),
    (
        re.compile(r"patching operation failed with exit code 196 but instance needs reboot", re.IGNORECASE),
        "patching failed (exit code 196) and the instance needs a reboot",
    ),
    (
        re.compile(r"failed to run commands: exit status 126\b", re.IGNORECASE),
        "agent script could not be executed (exit status 126)",
    ),
)

_GENERIC_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"no space left on device", re.IGNORECASE), "no space left on device"),
    (re.compile(r"read-only file system", re.IGNORECASE), "read-only file system"),
    (
        re.compile(r"cannot allocate memory|out of memory|memoryerror", re.IGNORECASE),
        "out of memory",
    ),
    (
        re.compile(
            r"failed to download metadata for repo|cannot find a valid baseurl for repo", re.IGNORECASE
        ),
        "package repository metadata could not be downloaded",
    ),
    (re.compile(r"rpmdb open failed|rpmdb: .{0,80}(?:panic|corrupt)", re.IGNORECASE), "rpm database corrupt"),
    (
        re.compile(
            r"could not resolve host|temporary failure in name resolution|name or service not known",
            re.IGNORECASE,
        ),
        "DNS resolution failed",
    ),
    (
        re.compile(r"\baccess ?denied\b|access is denied|not authorized to perform", re.IGNORECASE),
        "access denied",
    ),
)


_WINDOWS_UPDATE_ACTION = re.compile(
    r"error occurred when attempting to (?P<action>search|download|install)\b", re.IGNORECASE
)
_HRESULT_HEX = re.compile(r"(?<![0-9A-Za-z])0x(?P<code>[89Cc][0-9A-Fa-f]{7})(?![0-9A-Fa-f])")
_HRESULT_DECIMAL = re.compile(r"HRESULT[ \t]*+[:=]?[ \t]*+(?P<code>-[0-9]{10})\b", re.IGNORECASE)
_INVOKE_PATCH_BASELINE = re.compile(
    r"Invoke-PatchBaselineOperation : (?:Exception Details: )?(?P<message>.+)"
)

_STRONG_ERROR = re.compile(
    r"\[(?:ERROR|CRITICAL|FATAL)\]"
    r"|^[ \t]*+(?:E:|ERROR:?|Error:|FATAL:?|fatal:|Exception)[ \t]"
    r"|^[ \t]*+[\w.]{0,100}(?:Error|Exception|Exit)(?::|$)"
    r"|Traceback \(most recent call last\)"
    r"|(?i:hresult)|^[ \t]*+Error Message:"
)
_WEAK_ERROR = re.compile(
    r"\b(?:errors?|exceptions?|failed|failures?|fatal|denied|cannot|can't|could not|couldn't|unable to"
    r"|not found|timed out|no such file|segmentation fault|killed|panic)\b",
    re.IGNORECASE,
)
_ZERO_COUNT = re.compile(
    r"\b(?:0|no)[ \t]++(?:errors?|failures?|failed)\b|\b(?:errors?|failures?|failed)[ \t]*+[:=][ \t]*+0\b",
    re.IGNORECASE,
)
_TRACEBACK = "Traceback (most recent call last)"
_MAX_TRACEBACK_LINES = 200
_EXCEPTION_LINE = re.compile(r"[\w.]{0,100}(?:Error|Exception|Exit|Interrupt)(?::[ \t]*+(?P<detail>.*))?")


@dataclass(frozen=True)
class _Line:
    order: int
    raw: str
    """Sanitized text (first 4096 characters): what the patterns match."""
    shown: str
    """Sanitized and redacted text (first 4096 characters): what may be quoted."""
    meaningful: bool
    """Has words, is not blank after redaction, not a marker, not the harmless kernel warning."""
    strength: int
    """2: an error-level line or exception; 1: a line with an error word; 0: neither."""
    names_failure: bool
    """A known failure text or a failed healthcheck."""


def _line(order: int, raw: str, shown: str) -> _Line:
    raw, shown = raw[:_MAX_PROBE_CHARS], shown[:_MAX_PROBE_CHARS]
    meaningful = (
        _HAS_WORD.search(raw) is not None
        and bool(shown.strip())
        and _NOISE.fullmatch(raw) is None
        and _HARMLESS.search(raw) is None
    )
    check = _CHECK.search(raw)
    check_result = check.group("result") if check is not None else None
    strength = 0
    if meaningful and _AGENT_EXIT.search(raw) is None and check_result in (None, "FAIL"):
        if _STRONG_ERROR.search(raw) is not None:
            strength = 2
        elif _WEAK_ERROR.search(raw) is not None and _ZERO_COUNT.search(raw) is None:
            strength = 1
    names_failure = meaningful and (
        check_result == "FAIL"
        or _HEALTHCHECK_FAIL.search(raw) is not None
        or _WINDOWS_UPDATE_ACTION.search(raw) is not None
        or any(pattern.search(raw) is not None for pattern, _ in _KNOWN_FAILURES)
    )
    return _Line(order, raw, shown, meaningful, strength, names_failure)


def _bounded_split(text: str) -> list[str]:
    """The lines of `text`; of a very long text only the first and the last ones."""
    head = text.split("\n", _MAX_FIRST_LINES)
    if len(head) <= _MAX_FIRST_LINES:
        return head
    tail = head.pop().rsplit("\n", _MAX_LAST_LINES)
    return head + (tail[1:] if len(tail) > _MAX_LAST_LINES else tail)


def _drop_last_token(text: str) -> str:
    """`text` without the characters after its last space or line break."""
    if not text or text[-1] in _TOKEN_BREAKS:
        return text
    return text[: max(text.rfind(c) for c in _TOKEN_BREAKS) + 1]


def _drop_first_token(text: str) -> str:
    """`text` from its first space or line break on."""
    found = [index for index in (text.find(c) for c in _TOKEN_BREAKS) if index >= 0]
    return text[min(found) :] if found else ""


def _drop_api_cuts(text: str) -> str:
    """Drop the word before each of the agent's truncation markers (it was cut)."""
    if "truncated-" not in text:
        return text
    parts: list[str] = []
    done = 0
    for marker in _API_TRUNCATED.finditer(text):
        parts.append(_drop_last_token(text[done : marker.start()]))
        done = marker.start()
    parts.append(text[done:])
    return "".join(parts)


def _whole_words(stream: StreamText) -> list[str]:
    """The parts of a stream to read, without the words a byte range cut through.

    A head of a longer stream ends where the byte range ended; a tail begins mid-line when
    `logs.decode` found no line break to start from (a single huge line).
    """
    if not stream.tail:
        return [_drop_api_cuts(stream.head)]
    head, tail = stream.head, stream.tail
    if not stream.complete:
        head = _drop_last_token(head)
        if "\n" not in tail[:-1]:
            tail = _drop_first_token(tail)
    return [_drop_api_cuts(head), tail]


def _lines(stream: StreamText | None, first_order: int) -> list[_Line]:
    """Lines of a stream, head then tail, numbered from `first_order`."""
    if stream is None:
        return []
    parts = _whole_words(stream)
    lines: list[_Line] = []
    for part in parts:
        # The whole part is cleaned (secrets can span lines); only its first and last lines are
        # looked at (the same ones in both texts, which have the same lines).
        raw_lines = _bounded_split(sanitize(part))
        shown_lines = _bounded_split(clean(part))
        if len(shown_lines) != len(raw_lines):  # only with CRs inside a private key block
            shown_lines = [clean(line) for line in raw_lines]
        for raw, shown in zip(raw_lines, shown_lines, strict=True):
            lines.append(_line(first_order + len(lines), raw, shown))
    return lines


def _message(line: _Line) -> str:
    """The shown text of a line without its timestamp and log level."""
    prefix = _LOG_PREFIX.match(line.shown)
    text = line.shown[prefix.end() :] if prefix is not None else line.shown
    return " ".join(text.split())


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters; never ends inside a `[REDACTED...]` marker."""
    text = text.rstrip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 3]
    bracket = cut.rfind("[")
    if bracket >= 0 and "]" not in cut[bracket:]:
        fragment = cut[bracket:]
        if fragment.startswith("[REDACTED") or "[REDACTED".startswith(fragment):
            cut = cut[:bracket]
    return cut.rstrip() + "..."


# --------------------------------------------------------------------------- excerpt


def _dedupe_key(line: _Line) -> str:
    return signature(_message(line))


def _is_closing_line(line: _Line) -> bool:
    """A line worth showing as "how the run ended": not the agent's exit status line (the exit
    code says it) and not a passed or skipped healthcheck."""
    if _AGENT_EXIT.search(line.raw) is not None:
        return False
    check = _CHECK.search(line.raw)
    return check is None or check.group("result") == "FAIL"


def _excerpt(lines: Sequence[_Line], budget: int) -> tuple[str, ...]:
    """Up to `budget` lines that explain the failure, in log order, without repeats.

    Chosen in this order: lines naming the failure (known texts, healthcheck FAILs), then
    error-level lines, then lines with an error word (when there are too many of a kind: the
    first one and the last ones), then whatever is new among the last `budget` meaningful lines
    (not the agent's "failed to run commands" line, not passed/skipped checks). A quarter of
    the budget (at most 2 lines) is kept for those, so the excerpt shows how the run ended.
    """
    if budget <= 0:
        return ()
    chosen: dict[int, _Line] = {}
    seen: set[str] = set()
    keys: dict[int, str] = {}

    def key(line: _Line) -> str:
        if line.order not in keys:
            keys[line.order] = _dedupe_key(line)
        return keys[line.order]

    def take(line: _Line) -> None:
        chosen[line.order] = line
        seen.add(key(line))

    def take_first(candidates: Sequence[_Line], count: int) -> None:
        for line in candidates:
            if count <= 0:
                return
            if key(line) not in seen:
                take(line)
                count -= 1

    def take_last(candidates: Sequence[_Line], count: int) -> None:
        for line in reversed(candidates):
            if count <= 0:
                return
            if key(line) not in seen:
                take(line)
                count -= 1

    reserve = min(2, budget // 4)
    meaningful = [line for line in lines if line.meaningful]
    take_first([line for line in meaningful if line.names_failure], budget - reserve)
    for strength in (2, 1):
        room = budget - reserve - len(chosen)
        if room <= 0:
            break
        errors = [line for line in meaningful if line.strength == strength]
        take_first(errors, 1)
        take_last(errors, room - 1)
    closing = [line for line in meaningful if _is_closing_line(line)][-budget:]
    take_last(closing, budget - len(chosen))
    return tuple(_cut(chosen[order].shown, EXCERPT_LINE_MAX_CHARS) for order in sorted(chosen))


# --------------------------------------------------------------------------- reason


def _document_exit_codes(document_name: str, step: str | None) -> Mapping[int, str]:
    if "runpatchbaseline" in document_name.lower() or step in PATCH_STEPS:
        return PATCH_EXIT_CODES
    if "healthcheck" in document_name.lower() or step in HEALTHCHECK_STEPS:
        return HEALTHCHECK_EXIT_CODES
    return GENERIC_EXIT_CODES


def describe_exit_code(code: int | None, *, document_name: str, step: str | None = None) -> str | None:
    """The meaning of an exit code for this document (patch, healthcheck or any), or None."""
    if code is None:
        return None
    return _document_exit_codes(document_name, step).get(code)


def _is_healthcheck(document_name: str, step: str | None) -> bool:
    return "healthcheck" in document_name.lower() or step in HEALTHCHECK_STEPS


def _healthcheck_reason(lines: Sequence[_Line]) -> str | None:
    results: dict[str, str] = {}
    final: re.Match[str] | None = None
    for line in lines:
        check = _CHECK.search(line.shown)
        if check is not None:
            results[check.group("name")] = check.group("result")
        summary = _HEALTHCHECK_FAIL.search(line.shown)
        if summary is not None:
            final = summary
    failed_names = [name for name, result in results.items() if result == "FAIL"]
    if final is not None:
        failed, total = final.group("failed"), final.group("total")
        names = [name for name in re.split(r"[,\s]+", final.group("names")) if name] or failed_names
    elif failed_names:
        failed, total = str(len(failed_names)), str(len(results))  # as the scripts count: SKIPs too
        names = failed_names
    else:
        return None
    head = f"healthcheck: {failed} of {total} checks failed"
    if not names:
        return head
    listed: list[str] = []
    for index, name in enumerate(names):
        more = len(names) - index
        candidate = f"{head}: {', '.join([*listed, name])}"
        if len(candidate) + (len(f" and {more - 1} more") if more > 1 else 0) > REASON_MAX_CHARS:
            return f"{head}: {', '.join(listed)} and {more} more" if listed else head
        listed.append(name)
    return f"{head}: {', '.join(listed)}"


def _first_reason(lines: Sequence[_Line], table: Sequence[tuple[re.Pattern[str], str]]) -> str | None:
    """The reason of the highest-priority pattern found in any line."""
    for pattern, reason in table:
        if any(pattern.search(line.raw) is not None for line in lines):
            return reason
    return None


def _hresult(lines: Sequence[_Line], *, windows: bool) -> str | None:
    """The first HRESULT as 0x + 8 upper-case digits: from a line that says HRESULT, else (on a
    Windows step) any HRESULT-shaped code."""
    fallback: str | None = None
    for line in lines:
        hexadecimal = _HRESULT_HEX.search(line.raw)
        if hexadecimal is not None:
            code = f"0x{hexadecimal.group('code').upper()}"
            if "hresult" in line.raw.lower():
                return code
            if windows:
                fallback = fallback or code
        decimal = _HRESULT_DECIMAL.search(line.raw)
        if decimal is not None:
            return f"0x{int(decimal.group('code')) & 0xFFFFFFFF:08X}"
    return fallback


def _windows_reason(lines: Sequence[_Line], step: str | None) -> str | None:
    code = _hresult(lines, windows="windows" in (step or "").lower())
    suffix = f" ({code})" if code else ""
    for line in lines:
        action = _WINDOWS_UPDATE_ACTION.search(line.raw)
        if action is not None:
            return f"Windows Update {action.group('action').lower()} failed{suffix}"
    if code is not None:
        return f"Windows Update error{suffix}" if code.startswith("0x8024") else f"Windows error{suffix}"
    for line in lines:
        invoke = _INVOKE_PATCH_BASELINE.search(line.shown)
        if invoke is not None:
            return f"Invoke-PatchBaselineOperation failed: {invoke.group('message').strip()}"
    return None


def _error_line_reason(lines: Sequence[_Line]) -> str | None:
    traceback = next((index for index, line in enumerate(lines) if _TRACEBACK in line.raw), None)
    if traceback is not None:
        for after in lines[traceback + 1 : traceback + 1 + _MAX_TRACEBACK_LINES]:
            if _EXCEPTION_LINE.fullmatch(after.shown.strip()) is not None:
                return " ".join(after.shown.split())
    strong = [line for line in lines if line.strength == 2 and _message(line)]
    if strong:
        return _message(strong[0])
    weak = [line for line in lines if line.strength == 1 and _message(line)]
    return _message(weak[-1]) if weak else None


def _last_line_reason(lines: Sequence[_Line]) -> str | None:
    for line in reversed(lines):
        if line.meaningful and _AGENT_EXIT.search(line.raw) is None and _message(line):
            return _message(line)
    return None


def _one_line(text: str) -> str:
    return _cut(" ".join(clean(text).split()), REASON_MAX_CHARS)


def _norm(status: str) -> str:
    return re.sub(r"[\s_-]", "", status).lower()


_NOT_RUN = MappingProxyType(
    {
        "deliverytimedout": "timed out before delivery: instance offline or agent not running",
        "undeliverable": "undeliverable: instance not reachable",
        "terminated": "terminated: the command exceeded its MaxErrors limit",
        "invalidplatform": "invalid platform: the document does not support this instance's OS",
        "accessdenied": "access denied: not allowed to run the document on this instance",
        "noinstancesintag": "no instances matched the target tag",
        "pending": "not finished: pending",
        "inprogress": "not finished: in progress",
        "delayed": "delayed: the agent could not run it yet (busy or rebooting)",
    }
)
_CANCELLED = "cancelled (e.g. window cutoff reached or operator)"
_STOPPED = frozenset({"executiontimedout", "timedout", "cancelled", "cancelling"})
_KILL_CODES = frozenset({137, 143, -1, 4294967295})


def _log_reason(
    lines: Sequence[_Line], *, document_name: str, step: str | None, exit_code: int | None
) -> str | None:
    if _is_healthcheck(document_name, step):
        reason = _healthcheck_reason(lines)
        if reason is not None:
            return reason
    reason = _first_reason(lines, _KNOWN_FAILURES) or _windows_reason(lines, step)
    if reason is not None:
        return reason
    meaning = describe_exit_code(exit_code, document_name=document_name, step=step)
    if meaning is not None and exit_code not in _VAGUE_EXIT_CODES:
        return f"exit code {exit_code}: {meaning}"
    return _first_reason(lines, _GENERIC_HINTS) or _error_line_reason(lines)


def _fallback_reason(lines: Sequence[_Line], *, exit_code: int | None, meaning: str | None) -> str:
    if exit_code == 0:
        return "failed although the step exited with code 0"
    if exit_code is not None and meaning is not None:
        return f"exit code {exit_code}: {meaning}"
    last = _last_line_reason(lines)
    if last is not None:
        return last
    if exit_code is not None:
        return f"failed with exit code {exit_code}, no output available"
    return "failed, no output available"


def summarise_failure(
    *,
    document_name: str,
    status: str,
    status_details: str,
    step: str | None,
    response_code: int | None,
    stdout: StreamText | None,
    stderr: StreamText | None,
    excerpt_lines: int = DEFAULT_EXCERPT_LINES,
) -> FailureSummary:
    """Why one invocation (one instance, one step) failed. Never raises on odd input.

    `status` and `status_details` are as in ListCommandInvocations (details also accepted
    spelt with spaces, e.g. "Delivery Timed Out"); `response_code` is the step's ResponseCode;
    `stdout`/`stderr` are None when the stream was not found (an empty stream is not
    uploaded); `excerpt_lines` bounds the excerpt. The patch counts come from stdout, else
    stderr.
    """
    out_lines = _lines(stdout, 0)
    err_lines = _lines(stderr, len(out_lines))
    lines = [*out_lines, *err_lines]
    detail = _norm(status_details) or _norm(status)

    exit_code = response_code
    if exit_code == -1 and (detail in _NOT_RUN or detail in _STOPPED):
        exit_code = None
    if exit_code is None and detail not in _NOT_RUN:
        for line in reversed(lines):
            agent = _AGENT_EXIT.search(line.raw)
            if agent is not None:
                exit_code = int(agent.group("code"))
                break
    meaning = describe_exit_code(exit_code, document_name=document_name, step=step)
    if detail in _STOPPED and exit_code in _KILL_CODES:
        # The agent kills a step it stops; the code says how, not why (not out of memory).
        meaning = "stopped by Systems Manager (timeout or cancel)"
    in_step = f" (step {step})" if step else ""

    if detail in _NOT_RUN:
        reason = _NOT_RUN[detail]
    elif detail in {"cancelled", "cancelling"}:
        reason = _CANCELLED
    elif detail in {"executiontimedout", "timedout"}:
        during = " during execution" if detail == "executiontimedout" else ""
        known = _first_reason(lines, _KNOWN_FAILURES)
        reason = f"timed out{during}{in_step}" + (f": {known}" if known else "")
    elif detail == "success" and exit_code in (None, 0):
        reason = "succeeded"
    else:
        reason = _log_reason(lines, document_name=document_name, step=step, exit_code=exit_code) or (
            _fallback_reason(lines, exit_code=exit_code, meaning=meaning)
        )
        if step is not None and step.startswith("Download") and _is_healthcheck(document_name, step):
            reason = f"healthcheck script download failed{in_step}: {reason}"

    patch = None
    for stream in (stdout, stderr):
        if stream is not None and patch is None:
            patch = parse_patch_summary(sanitize(f"{stream.head}\n{stream.tail}"))
    return FailureSummary(
        reason=_one_line(reason),
        exit_code=exit_code,
        exit_meaning=meaning,
        excerpt=_excerpt(lines, excerpt_lines),
        patch=patch,
    )
