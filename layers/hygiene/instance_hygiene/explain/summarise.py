"""Summarise one failed command invocation: reason, next step, exit code, excerpt, patch counts. Pure.

Input is what the fleet and log adapters found for one instance and one step: the
invocation's status and status details, the step's response code, and the head/tail of its
stdout and stderr (either may be missing). Output is a `FailureSummary` whose `reason` is one
short human line and `next_step` what the operator should do; `signature(reason)` is what the
digest groups failures by.

How the reason is chosen:
1. status details that mean the script never ran or was stopped (DeliveryTimedOut,
   Undeliverable, Terminated, InvalidPlatform, AccessDenied, Cancelled, ExecutionTimedOut, ...):
   a fixed line; ExecutionTimedOut adds the step and the cause found in the log, if serious;
2. on a healthcheck, the failed checks (`HEALTHCHECK FAIL k of n checks failed: a, b`, else the
   `CHECK <name> FAIL` lines);
3. the catalogue (`rules.py`, `catalogue/*.toml`), matched by `engine.py` in one pass: the
   rule of the highest severity, then the earliest line. A specific exit code of the document
   (`exit code 156: payload download failed`) ranks with medium-severity rules, after those in
   the log; codes 0, 1, -1/4294967295, 126 and 127 are too vague and wait for step 5;
4. low-severity rules (vague generic hints such as "access denied");
5. the exception of a Python traceback, else the first error-level line, else the first line
   with an error word; never a line a rule calls decoration or advice, and for a header
   (`Error:`) the line under it;
6. exit code 0: "failed although the step exited with code 0"; else the exit code's generic
   meaning, then the last meaningful line, then "failed with exit code N, no output available"
   / "failed, no output available".

Exit codes: `exit_code` is the step's ResponseCode. SSM reports -1 for a step that never ran,
so with a status detail saying it never ran (or was cut short) -1 becomes `None`. Otherwise -1
and 4294967295 (the same value seen as unsigned, as Windows shows it) are kept: the script
failed without an exit code of its own, typically a PowerShell terminating error.
When no ResponseCode is known, the agent's "failed to run commands: exit status N" line
supplies it.

Everything quoted from a log is redacted (`redact`) and sanitized before it reaches a reason,
an excerpt, a capture or the patch operation. Where a stream was cut (the end of a head read,
the start of a tail read that begins mid-line, the text before the agent's
"---Output truncated---" marker in the API output), the word the cut went through is dropped:
it may be the first or last characters of a secret that redaction cannot recognise.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from instance_hygiene.explain.engine import Candidate, Cause, Engine, Line, Scan, compiled
from instance_hygiene.explain.patchsummary import (
    LINUX_SUMMARY_MARK,
    WINDOWS_SUMMARY_MARK,
    PatchCounts,
    parse_patch_summary,
)
from instance_hygiene.explain.prepared import (
    Part,
    drop_api_cuts,
    drop_first_token,
    drop_last_token,
    prepare,
)
from instance_hygiene.explain.progress import MAX_PROGRESS_LINE_BYTES, is_progress_line
from instance_hygiene.explain.signature import signature
from instance_hygiene.secrets.redact import clean, cut, sanitize

__all__ = [
    "DEFAULT_EXCERPT_LINES",
    "EXCERPT_LINE_MAX_CHARS",
    "HEALTHCHECK_STEPS",
    "PATCH_STEPS",
    "REASON_MAX_CHARS",
    "FailureSummary",
    "PatchCounts",
    "StreamText",
    "describe_exit_code",
    "document_kind",
    "exit_code_table",
    "parse_patch_summary",
    "signature",
    "summarise_failure",
]

REASON_MAX_CHARS = 200
NEXT_STEP_MAX_CHARS = 200
EXCERPT_LINE_MAX_CHARS = 300
DEFAULT_EXCERPT_LINES = 8

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
    next_step: str | None = None
    """What the operator should do, one line (from the rule or exit code that explained it)."""
    rule: str | None = None
    """The catalogue rule that gave the reason (`family.name`), None for status and fallbacks."""
    severity: str | None = None


# --------------------------------------------------------------------------- exit codes


def document_kind(document_name: str, step: str | None) -> str:
    """ "patch", "healthcheck" or "shell": which rules and exit codes apply."""
    name = document_name.lower()
    if "runpatchbaseline" in name or step in PATCH_STEPS:
        return "patch"
    if "healthcheck" in name or step in HEALTHCHECK_STEPS:
        return "healthcheck"
    return "shell"


@cache
def _exit_codes(kind: str, engine: Engine) -> tuple[Mapping[int, str], frozenset[int], Mapping[int, str]]:
    entries = engine.exit_codes
    meanings: dict[int, str] = {}
    vague: set[int] = set()
    steps: dict[int, str] = {}
    # Generic codes first, then the document's own (which win).
    for own in (False, True):
        for entry in reversed(entries):
            if bool(entry.documents) != own or (own and kind not in entry.documents):
                continue
            for code in {entry.code, *((entry.code & 0xFFFFFFFF,) if entry.code < 0 else ())}:
                meanings[code] = entry.meaning
                vague.discard(code)
                if entry.vague:
                    vague.add(code)
                if entry.next_step:
                    steps[code] = entry.next_step
    return MappingProxyType(meanings), frozenset(vague), MappingProxyType(steps)


def exit_code_table(kind: str) -> Mapping[int, str]:
    """Exit code meanings for a kind of document ("patch", "healthcheck", "shell")."""
    return _exit_codes(kind, compiled())[0]


def describe_exit_code(code: int | None, *, document_name: str, step: str | None = None) -> str | None:
    """The meaning of an exit code for this document (patch, healthcheck or any), or None."""
    if code is None:
        return None
    return exit_code_table(document_kind(document_name, step)).get(code)


# --------------------------------------------------------------------------- reading


def _whole_words(stream: StreamText) -> list[str]:
    """The parts of a stream to read, without the words a byte range cut through.

    A head of a longer stream ends where the byte range ended; a tail begins mid-line when
    `logs.decode` found no line break to start from (a single huge line).
    """
    if not stream.tail:
        return [drop_api_cuts(stream.head)]
    head, tail = stream.head, stream.tail
    if not stream.complete:
        head = drop_last_token(head)
        if "\n" not in tail[:-1]:
            tail = drop_first_token(tail)
    return [drop_api_cuts(head), tail]


def _parts(stream: StreamText | None, first_order: int) -> list[Part]:
    if stream is None:
        return []
    return [prepare(text, first_order + index) for index, text in enumerate(_whole_words(stream))]


def _one_line(text: str, limit: int = REASON_MAX_CHARS) -> str:
    return cut(" ".join(clean(text).split()), limit)


# --------------------------------------------------------------------------- excerpt

_DIGITS = re.compile(r"[0-9]+|0x[0-9a-f]+|[0-9a-f]{8,}")
_PREFIX = re.compile(
    r"[ \t]*+(?:[0-9]{1,4}[/-][0-9]{1,2}[/-][0-9]{1,4}[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]++)?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?[ \t]++)?(?:[\w.-]{1,64}+[ \t]++)?\[[A-Z]{4,8}\]:?[ \t]*+"
)


def _dedupe_key(line: Line) -> str:
    """Lines that differ only in numbers, hex and timestamps are one line (from the raw text:
    no redaction needed to compare)."""
    text = line.raw[:400].decode("utf-8", "replace").lower()
    prefix = _PREFIX.match(text.upper()) if text[:1].isdigit() else None
    return _DIGITS.sub("#", " ".join(text[prefix.end() if prefix else 0 :].split()))


def _is_progress(line: Line) -> bool:
    return is_progress_line(line.raw[: MAX_PROGRESS_LINE_BYTES + 2])


def _is_superseded_progress(scan: Scan, line: Line) -> bool:
    """A package manager's progress line followed by another one: not the last of its run."""
    if not _is_progress(line):
        return False
    following = scan.next_meaningful(line)
    return following is not None and _is_progress(following)


def _is_closing_line(scan: Scan, line: Line) -> bool:
    """A line worth showing as "how the run ended": meaningful, not the agent's exit status line
    (the exit code says it), not a passed or skipped healthcheck and not a progress line that
    another one follows."""
    raw = line.raw[:4096]
    if b"failed to run commands: exit status" in raw or not scan.meaningful(line):
        return False
    if b"CHECK" in raw and b" FAIL" not in raw:
        return False
    return not _is_superseded_progress(scan, line)


def _excerpt(scan: Scan, candidates: Sequence[Candidate], budget: int) -> tuple[str, ...]:
    """Up to `budget` lines that explain the failure, in log order, without repeats.

    Chosen in this order: the lines the catalogue's rules matched and failed healthchecks, then
    error-level lines, then lines with an error word (when there are too many of a kind: the
    first one and the last ones), then whatever is new among the last `budget` meaningful lines
    (not the agent's "failed to run commands" line, not passed/skipped checks). A quarter of
    the budget (at most 2 lines) is kept for those, so the excerpt shows how the run ended.

    Package managers' progress lines (`progress.is_progress_line`: yum/dnf `Updating : pkg 3/16`,
    dpkg `Unpacking ...`, apt `Get:1 ...`, zypper `( 1/16) Installing: ...`) say nothing about
    the cause: they are never taken as error lines, and a run of them counts as its last line
    only (where the transaction stopped), taken like any other closing line, so it is dropped
    when the lines above fill the budget. A progress line a rule matched is still shown.
    Reasons and rule matching do not look at this.
    """
    if budget <= 0:
        return ()
    reserve = min(2, budget // 4)
    naming = sorted({c.line.key: c.line for c in candidates}.values(), key=lambda line: line.key)
    naming += scan.failed_check_lines()[:budget]
    errors = {
        strength: [
            line for line in scan.error_lines(strength, first=1, last=budget) if not _is_progress(line)
        ]
        for strength in (2, 1)
    }
    closing = scan.last_lines(budget, lambda line: _is_closing_line(scan, line))

    chosen: dict[tuple[int, int], Line] = {}
    seen: set[str] = set()

    def take(lines: Sequence[Line], count: int) -> None:
        for line in lines:
            if count <= 0:
                return
            key = _dedupe_key(line)
            if key not in seen and line.key not in chosen:
                chosen[line.key] = line
                seen.add(key)
                count -= 1

    take(sorted(naming, key=lambda line: line.key), budget - reserve)
    for strength in (2, 1):
        room = budget - reserve - len(chosen)
        if room <= 0:
            break
        take(errors[strength][:1], 1)
        take(list(reversed(errors[strength])), room - 1)
    take(list(reversed(closing)), budget - len(chosen))
    lines = [chosen[key] for key in sorted(chosen)]
    scan.reveal(lines)
    return tuple(cut(line.shown, EXCERPT_LINE_MAX_CHARS) for line in lines)


# --------------------------------------------------------------------------- reason


def _healthcheck_reason(scan: Scan, candidates: Sequence[Candidate]) -> Candidate | str | None:
    """The failed checks: from the summary line's rule when present, else the CHECK lines."""
    summary = next((c for c in candidates if c.rule.id == _CHECKS_FAILED), None)
    results = scan.checks()
    failed_names = [name for name, result in results.items() if result == "FAIL"]
    if summary is not None:
        match = re.search(
            r"(?P<failed>[0-9]{1,6}) of (?P<total>[0-9]{1,6}) checks? failed:?(?P<names>.*)",
            scan.shown(summary.line),
        )
        if match is None:
            return summary
        failed, total = match.group("failed"), match.group("total")
        names = [name for name in re.split(r"[,\s]+", match.group("names")) if name] or failed_names
    elif failed_names:
        failed, total = str(len(failed_names)), str(len(results))  # as the scripts count: SKIPs too
        names = failed_names
    else:
        return None
    head = f"healthcheck: {failed} of {total} checks failed"
    listed: list[str] = []
    for index, name in enumerate(names):
        more = len(names) - index
        candidate = f"{head}: {', '.join([*listed, name])}"
        if len(candidate) + (len(f" and {more - 1} more") if more > 1 else 0) > REASON_MAX_CHARS:
            return f"{head}: {', '.join(listed)} and {more} more" if listed else head
        listed.append(name)
    return f"{head}: {', '.join(listed)}" if listed else head


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
_NOT_RUN_NEXT = MappingProxyType(
    {
        "deliverytimedout": "check that the instance is running and online in Fleet Manager (SSM agent, "
        "network path to the ssm, ssmmessages and ec2messages endpoints, instance profile)",
        "undeliverable": "check the instance is still managed (Fleet Manager) and its agent can reach SSM",
        "terminated": "fix the failures of the first instances, or raise MaxErrors",
        "invalidplatform": "target this document only at the platforms it supports",
        "accessdenied": "allow ssm:SendCommand on this instance and document for the window's role",
        "noinstancesintag": "check the window target's tag key and value",
        "delayed": "wait for the instance to finish rebooting or its current command",
    }
)
_CANCELLED = "cancelled (e.g. window cutoff reached or operator)"
_CANCELLED_NEXT = "if the window's cutoff stopped it, lengthen the window or move the cutoff"
_TIMED_OUT_NEXT = "raise the step's timeout, or find what the step waited on in the excerpt"
_STOPPED = frozenset({"executiontimedout", "timedout", "cancelled", "cancelling"})
_KILL_CODES = frozenset({137, 143, -1, 4294967295})
_MEDIUM = 2
_CHECKS_FAILED = "healthcheck.checks-failed"


@dataclass(frozen=True)
class _Reason:
    text: str
    next_step: str | None = None
    cause: Cause | None = None
    severity: str | None = None
    """Overrides the cause's severity (a healthcheck's is that of its worst failed check)."""


def _explained(scan: Scan, candidate: Candidate) -> _Reason:
    cause = scan.explain(candidate)
    return _Reason(cause.reason, cause.next_step, cause)


def _log_reason(
    scan: Scan, candidates: Sequence[Candidate], *, kind: str, exit_code: int | None
) -> _Reason | None:
    if kind == "healthcheck":
        found = _healthcheck_reason(scan, candidates)
        if isinstance(found, str):
            # The most serious failed check says what to do first.
            checks = [c for c in candidates if c.rule.family == "healthcheck" and c.rule.id != _CHECKS_FAILED]
            summary = next((c for c in candidates if c.rule.id == _CHECKS_FAILED), None)
            top = checks[0] if checks else summary
            explained = scan.explain(top) if top is not None else None
            step = explained.next_step if explained else "see the failed checks in the excerpt"
            cause = scan.explain(summary) if summary is not None else explained
            return _Reason(found, step, cause, severity=top.rule.severity if top else None)
        if found is not None:
            return _explained(scan, found)
    meanings, vague, steps = _exit_codes(kind, scan.engine)
    best = candidates[0] if candidates else None
    if best is not None and best.rank >= _MEDIUM:
        return _explained(scan, best)
    meaning = meanings.get(exit_code) if exit_code is not None else None
    if meaning is not None and exit_code not in vague:
        return _Reason(f"exit code {exit_code}: {meaning}", steps.get(exit_code or 0))
    if best is not None:
        return _explained(scan, best)
    return _error_line_reason(scan)


def _error_line_reason(scan: Scan) -> _Reason | None:
    exception = scan.traceback_exception()
    if exception is not None:
        scan.reveal([exception])
        return _Reason(" ".join(exception.shown.split()))
    header = scan.first_header()
    detail = scan.next_meaningful(header) if header is not None else None
    for strength in (2, 1):
        lines = scan.error_lines(strength, first=1, last=0)
        if detail is not None and (not lines or detail.key < lines[0].key or strength == 1):
            # The detail under the first header (`Error:` alone) comes before any later error line.
            lines = [detail]
        scan.reveal(lines)
        for line in lines:
            if line.message:
                return _Reason(line.message)
    return None


def _fallback_reason(scan: Scan, *, exit_code: int | None, meaning: str | None) -> str:
    if exit_code == 0:
        return "failed although the step exited with code 0"
    if exit_code is not None and meaning is not None:
        return f"exit code {exit_code}: {meaning}"
    last = scan.last_lines(
        1, lambda line: scan.meaningful(line) and b"failed to run commands: exit status" not in line.raw
    )
    scan.reveal(last)
    if last and last[0].message:
        return last[0].message
    if exit_code is not None:
        return f"failed with exit code {exit_code}, no output available"
    return "failed, no output available"


def _patch_counts(stdout: StreamText | None, stderr: StreamText | None) -> PatchCounts | None:
    for stream in (stdout, stderr):
        if stream is None:
            continue
        text = f"{stream.head}\n{stream.tail}"
        if LINUX_SUMMARY_MARK in text or WINDOWS_SUMMARY_MARK in text:
            counts = parse_patch_summary(sanitize(text))
            if counts is not None:
                return counts
    return None


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
    engine: Engine | None = None,
) -> FailureSummary:
    """Why one invocation (one instance, one step) failed. Never raises on odd input.

    `status` and `status_details` are as in ListCommandInvocations (details also accepted
    spelt with spaces, e.g. "Delivery Timed Out"); `response_code` is the step's ResponseCode;
    `stdout`/`stderr` are None when the stream was not found (an empty stream is not
    uploaded); `excerpt_lines` bounds the excerpt; `engine` is the catalogue to use (default:
    the built-in one). The patch counts come from stdout, else stderr.
    """
    engine = engine or compiled()
    kind = document_kind(document_name, step)
    scan = Scan(engine, [*_parts(stdout, 0), *_parts(stderr, 2)], document=kind, step=step)
    detail = _norm(status_details) or _norm(status)

    exit_code = response_code
    if exit_code == -1 and (detail in _NOT_RUN or detail in _STOPPED):
        exit_code = None
    if exit_code is None and detail not in _NOT_RUN:
        exit_code = scan.agent_exit_code()
    meaning = _exit_codes(kind, engine)[0].get(exit_code) if exit_code is not None else None
    if detail in _STOPPED and exit_code in _KILL_CODES:
        # The agent kills a step it stops; the code says how, not why (not out of memory).
        meaning = "stopped by Systems Manager (timeout or cancel)"
    in_step = f" (step {step})" if step else ""

    candidates = scan.candidates()
    if detail in _NOT_RUN:
        found = _Reason(_NOT_RUN[detail], _NOT_RUN_NEXT.get(detail))
    elif detail in {"cancelled", "cancelling"}:
        found = _Reason(_CANCELLED, _CANCELLED_NEXT)
    elif detail in {"executiontimedout", "timedout"}:
        during = " during execution" if detail == "executiontimedout" else ""
        serious = candidates[0] if candidates and candidates[0].rank > _MEDIUM else None
        known = scan.explain(serious) if serious is not None else None
        text = f"timed out{during}{in_step}" + (f": {known.reason}" if known else "")
        found = _Reason(text, (known.next_step if known else None) or _TIMED_OUT_NEXT, known)
    elif detail == "success" and exit_code in (None, 0):
        found = _Reason("succeeded")
    else:
        found = _log_reason(scan, candidates, kind=kind, exit_code=exit_code) or _Reason(
            _fallback_reason(scan, exit_code=exit_code, meaning=meaning)
        )
        if step is not None and step.startswith("Download") and kind == "healthcheck":
            found = _Reason(
                f"healthcheck script download failed{in_step}: {found.text}", found.next_step, found.cause
            )

    cause = found.cause
    return FailureSummary(
        reason=_one_line(found.text),
        exit_code=exit_code,
        exit_meaning=meaning,
        excerpt=_excerpt(scan, candidates, excerpt_lines),
        patch=_patch_counts(stdout, stderr),
        next_step=_one_line(found.next_step, NEXT_STEP_MAX_CHARS) or None if found.next_step else None,
        rule=cause.rule.id if cause else None,
        severity=found.severity or (cause.rule.severity if cause else None),
    )
