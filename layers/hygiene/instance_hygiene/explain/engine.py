"""The explanation engine: one pass of every catalogue rule over the text read. Pure.

Each read part of a stream (stdout head, stdout tail, stderr head, stderr tail) is matched once
against all rules together (an RE2 set: one linear scan, whatever the number of rules). Only
the rules that matched are searched again, for their first line and captures. The cause is
the rule with the highest severity, then the earliest line (the first cause, not the last
echo); lines that a rule marks as decoration, advice or header are never a reason.

Cost: the text is sanitized only when it holds something to remove (control or invisible
characters, escape sequences, lone CR), and only the lines that are quoted are redacted,
except when a private key block is present (then the whole part is redacted, as before).
`redact` works line by line outside key blocks, so both give the same lines
(tests/unit/secrets/test_redact.py::test_redaction_line_by_line_equals_redaction_of_the_whole_text
checks it on any text).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from instance_hygiene.explain.prepared import MAX_PROBE_CHARS, Part, re2_module, re2_options
from instance_hygiene.explain.templates import SEVERITY_RANK, fill
from instance_hygiene.secrets.redact import redact

if TYPE_CHECKING:
    from instance_hygiene.explain.rules import Catalogue, Rule

__all__ = ["Candidate", "Cause", "Engine", "Line", "Scan", "compiled"]

_FIRST_MATCHES = 16
_LAST_WINDOW = 8 * 1024
_NEIGHBOUR_LINES = 3
MAX_LAST_LINES = 4_000
MAX_CHECKS = 1_000
_CAPTURE_MAX_CHARS = 120


_LOG_PREFIX = re.compile(
    r"[ \t]*+(?:[0-9]{1,4}[/-][0-9]{1,2}[/-][0-9]{1,4}[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]++)?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?[ \t]++)?"
    r"(?:[\w.-]{1,64}+[ \t]++)?\[(?:ERROR|CRITICAL|FATAL|WARNING|WARN|INFO|DEBUG)\]:?[ \t]*+"
)
_HAS_WORD = re.compile(rb"[A-Za-z0-9]")
_MARKER = re.compile(rb"[ \t]*(?:-{2,}(?:output|error) truncated-{2,}|-{5,}ERROR-{5,})[ \t]*", re.IGNORECASE)
_ZERO_COUNT = re.compile(
    rb"\b(?:0|no)[ \t]++(?:errors?|failures?|failed)\b|\b(?:errors?|failures?|failed)[ \t]*+[:=][ \t]*+0\b",
    re.IGNORECASE,
)
AGENT_EXIT = re.compile(rb"failed to run commands: exit status (?P<code>-?[0-9]{1,10})\b")
CHECK = re.compile(
    rb"(?:^|[ \t])CHECK[ \t]++(?P<name>\S{1,200}+)[ \t]++(?P<result>PASS|FAIL|SKIP)\b", re.MULTILINE
)

# RE2 patterns (one scan each, C speed): error-level lines and lines with an error word.
_STRONG_ERROR = (
    r"(?m)\[(?:ERROR|CRITICAL|FATAL)\]"
    r"|^[ \t]*(?:E:|ERROR:?|Error:|FATAL:?|fatal:|Exception)(?:[ \t]|$)"
    r"|^[ \t]*[\w.]{0,100}(?:Error|Exception|Exit):"
    r"|^[ \t]*[\w.]{0,100}(?:Error|Exception)$"
    r"|Traceback \(most recent call last\)"
    r"|(?i:hresult)|^[ \t]*Error Message:"
)
_WEAK_ERROR = (
    r"(?i)\b(?:errors?|exceptions?|failed|failures?|fatal|denied|cannot|can't|could not|couldn't|unable to"
    r"|not found|timed out|no such file|segmentation fault|killed|panic)\b"
)
_TRACEBACK = b"Traceback (most recent call last)"
_EXCEPTION_LINE = re.compile(rb"[\w.]{0,100}(?:Error|Exception|Exit|Interrupt)(?::[ \t]*+.*)?")
_MAX_TRACEBACK_LINES = 200

_HRESULT_DECIMAL = re.compile(r"-?[0-9]{1,10}")


@dataclass(frozen=True)
class _Matcher:
    rule: Rule
    regex: Any
    context: Mapping[str, Any]


class Engine:
    """A catalogue compiled: one RE2 set for all rules, one regex per rule (and per context)."""

    def __init__(self, catalogue: Catalogue) -> None:
        re2 = re2_module()
        self.catalogue = catalogue
        self._set = re2.Set.SearchSet(re2_options())
        self.matchers: list[_Matcher] = []
        for rule in catalogue.rules:
            # Multi-line mode: ^ and $ are a line's start and end; never_nl keeps a match in its line.
            flags = "m" if rule.case_sensitive else "mi"
            pattern = f"(?{flags}){rule.match}"
            self._set.Add(pattern.encode())
            regex = re2.compile(pattern.encode(), re2_options())
            context = {
                name: re2.compile(f"(?{flags}){p}".encode(), re2_options())
                for name, p in rule.context.items()
            }
            self.matchers.append(_Matcher(rule, regex, context))
        self._set.Compile()

        self.strong = re2.compile(_STRONG_ERROR.encode(), re2_options())
        self.weak = re2.compile(_WEAK_ERROR.encode(), re2_options())
        self.exit_codes = catalogue.exit_codes

    def hits(self, data: bytes) -> list[int]:
        found = self._set.Match(data)
        return sorted(found) if found else []


@cache
def _builtin_engine() -> Engine:
    from instance_hygiene.explain.rules import builtin_catalogue  # noqa: PLC0415

    return Engine(builtin_catalogue())


def compiled(catalogue: Catalogue | None = None) -> Engine:
    """The engine for `catalogue` (None: the built-in one, compiled once per process)."""
    return _builtin_engine() if catalogue is None else Engine(catalogue)


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class Line:
    part: Part
    start: int
    end: int

    @property
    def key(self) -> tuple[int, int]:
        return (self.part.order, self.start)

    @property
    def raw(self) -> bytes:
        return self.part.data[self.start : self.end]

    @property
    def shown(self) -> str:
        return self.part.shown(self.start, self.end)

    @property
    def message(self) -> str:
        """The shown text without its timestamp and log level, whitespace collapsed."""
        shown = self.shown
        prefix = _LOG_PREFIX.match(shown)
        return " ".join((shown[prefix.end() :] if prefix is not None else shown).split())


def line_at(part: Part, position: int) -> Line:
    data = part.data
    start = data.rfind(b"\n", 0, position) + 1
    end = data.find(b"\n", position)
    return Line(part, start, len(data) if end < 0 else end)


def _previous(line: Line) -> Line | None:
    return line_at(line.part, line.start - 1) if line.start > 0 else None


def _next(line: Line) -> Line | None:
    return line_at(line.part, line.end + 1) if line.end < len(line.part.data) else None


@dataclass(frozen=True)
class Candidate:
    """A cause rule at the first line it matched (not yet explained)."""

    rule: Rule
    matcher: _Matcher
    line: Line
    quoted: Line

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.rule.severity]


@dataclass(frozen=True)
class Cause:
    """The chosen explanation: the rule, the line it quotes and what it captured."""

    rule: Rule
    line: Line
    reason: str
    next_step: str | None

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.rule.severity]


_NOISE_MATCHES = 512
_STRONG_LINE = re.compile(_STRONG_ERROR.encode())


class Scan:
    """Everything the summariser asks of the text read, each answered from one pass.

    The RE2 set tells which rules match each part at all; only those are searched again.
    Lines are byte spans of a part; nothing is redacted until `reveal` (one `redact` call for
    every line that will be quoted)."""

    def __init__(self, engine: Engine, parts: Sequence[Part], *, document: str, step: str | None) -> None:
        self.engine = engine
        self.parts = [part for part in parts if part.data]
        self.document = document
        self.step = step
        self._hits = [(part, engine.hits(part.data)) for part in self.parts]
        self._noise: dict[tuple[int, int], str] = {}
        for part, hits in self._hits:
            for index in hits:
                matcher = engine.matchers[index]
                if matcher.rule.role == "cause":
                    continue
                for count, match in enumerate(matcher.regex.finditer(part.data)):
                    if count >= _NOISE_MATCHES:
                        break
                    self._noise.setdefault(line_at(part, match.start()).key, matcher.rule.role)
        self._candidates: list[Candidate] | None = None

    # ----------------------------------------------------------------- causes

    def candidates(self) -> list[Candidate]:
        """Every matched cause rule at its first qualifying line, best first (severity, then
        position)."""
        if self._candidates is not None:
            return self._candidates
        found: list[Candidate] = []
        for index in sorted({i for _, hits in self._hits for i in hits}):
            matcher = self.engine.matchers[index]
            rule = matcher.rule
            if rule.role != "cause" or (rule.documents and self.document not in rule.documents):
                continue
            if rule.steps and not any(part in (self.step or "") for part in rule.steps):
                continue
            candidate = self._first(index, matcher)
            if candidate is not None:
                found.append(candidate)
        found.sort(key=lambda candidate: (-candidate.rank, candidate.line.key))
        self._candidates = found
        return found

    def _first(self, index: int, matcher: _Matcher) -> Candidate | None:
        for part, hits in self._hits:
            if index not in hits:
                continue
            for count, match in enumerate(matcher.regex.finditer(part.data)):
                if count >= _FIRST_MATCHES:
                    break
                line = line_at(part, match.start())
                if self.noise_role(line) is not None:
                    continue
                quoted = self._quoted(line, matcher.rule.quote)
                if quoted is not None:
                    return Candidate(matcher.rule, matcher, line, quoted)
        return None

    def _quoted(self, line: Line, quote: str) -> Line | None:
        if quote == "line":
            return line
        step = _previous if quote == "previous" else _next
        current: Line | None = line
        for _ in range(_NEIGHBOUR_LINES):
            current = step(current) if current is not None else None
            if current is None:
                return None
            if self.meaningful(current):
                return current
        return None

    def explain(self, candidate: Candidate) -> Cause:
        """The candidate's reason and next step, filled from its captures (on the redacted line)."""
        rule, matcher = candidate.rule, candidate.matcher
        self.reveal([candidate.line, candidate.quoted])
        values: dict[str, str | None] = {"line": candidate.quoted.message, "step": self.step}
        values.update(_captures(matcher.regex, candidate.line))
        for name, pattern in matcher.context.items():
            if not values.get(name):
                values[name] = self._context(name, pattern)
        entry = None
        if values.get("hresult"):
            values["hresult"] = _hresult(values["hresult"] or "")
            entry = self.engine.catalogue.hresults.get(values["hresult"] or "")
            values["hresult_meaning"] = entry.meaning if entry else None
            values["hresult_name"] = entry.name if entry and entry.name else None
        next_step = fill(rule.next_step, values) if rule.next_step else (entry.next_step if entry else None)
        return Cause(rule=rule, line=candidate.line, reason=fill(rule.reason, values), next_step=next_step)

    def _context(self, name: str, pattern: Any) -> str | None:
        for part in self.parts:
            match = pattern.search(part.data)
            if match is not None:
                return _captures(pattern, line_at(part, match.start())).get(name)
        return None

    # ----------------------------------------------------------------- lines

    def reveal(self, lines: Sequence[Line]) -> None:
        """Redact these lines (as shown) in one `redact` call; `Line.shown` then reads the cache."""
        todo: dict[tuple[int, int], Line] = {}
        for line in lines:
            if line.part.redacted_all is None and line.start not in line.part.cache:
                todo.setdefault(line.key, line)
        if not todo:
            return
        pending = list(todo.values())
        joined = "\n".join(line.raw[: MAX_PROBE_CHARS * 4].decode("utf-8", "replace") for line in pending)
        for line, text in zip(pending, redact(joined).split("\n"), strict=True):
            line.part.cache[line.start] = text[:MAX_PROBE_CHARS]

    def shown(self, line: Line) -> str:
        self.reveal([line])
        return line.shown

    def noise_role(self, line: Line) -> str | None:
        """ "decoration", "advice" or "header" when a noise rule matched the line, else None."""
        return self._noise.get(line.key)

    def meaningful(self, line: Line) -> bool:
        raw = line.raw[:MAX_PROBE_CHARS]
        return (
            _HAS_WORD.search(raw) is not None
            and _MARKER.fullmatch(raw) is None
            and line.key not in self._noise
            and (line.part.redacted_all is None or bool(line.shown.strip()))
        )

    def error_lines(self, strength: int, *, first: int, last: int) -> list[Line]:
        """The first `first` and the last `last` lines of an error level (2) or with an error
        word (1), in log order, without noise lines."""
        regex = self.engine.strong if strength == 2 else self.engine.weak
        chosen: dict[tuple[int, int], Line] = {}
        for line in self._matching(regex, first, strength):
            chosen[line.key] = line
        for line in self._last_matching(regex, last, strength):
            chosen.setdefault(line.key, line)
        return [chosen[key] for key in sorted(chosen)]

    def _qualifies(self, line: Line, strength: int) -> bool:
        raw = line.raw[:MAX_PROBE_CHARS]
        if b"failed to run commands: exit status" in raw or not self.meaningful(line):
            return False
        check = CHECK.search(raw)
        if check is not None and check.group("result") != b"FAIL":
            return False
        if strength == 1 and _STRONG_LINE.search(raw) is not None:
            return False
        return strength == 2 or _ZERO_COUNT.search(raw) is None

    def _lines_matching(self, part: Part, regex: Any, start: int, limit: int, strength: int) -> list[Line]:
        """Qualifying lines of `part` (from offset `start`) with a match, each line once, after at
        most `limit` matches."""
        lines: list[Line] = []
        seen = -1
        for count, match in enumerate(regex.finditer(part.data, start)):
            if count >= limit:
                break
            if match.start() <= seen:
                continue
            line = line_at(part, match.start())
            seen = line.end
            if self._qualifies(line, strength):
                lines.append(line)
        return lines

    def _matching(self, regex: Any, limit: int, strength: int) -> list[Line]:
        lines: list[Line] = []
        for part in self.parts:
            if len(lines) >= limit:
                break
            lines += self._lines_matching(part, regex, 0, _FIRST_MATCHES, strength)[: limit - len(lines)]
        return lines

    def _last_matching(self, regex: Any, count: int, strength: int) -> list[Line]:
        if count <= 0:
            return []
        found: list[Line] = []
        for part in reversed(self.parts):
            window = max(0, len(part.data) - _LAST_WINDOW)
            window = part.data.rfind(b"\n", 0, window) + 1 if window else 0
            lines = self._lines_matching(part, regex, window, _NOISE_MATCHES, strength)
            found = lines[-(count - len(found)) :] + found if lines else found
            if len(found) >= count:
                break
        return found[-count:]

    def last_lines(self, count: int, keep: Callable[[Line], bool]) -> list[Line]:
        """The last `count` lines for which `keep` holds, in log order (stderr after stdout);
        at most MAX_LAST_LINES lines are looked at."""
        found: list[Line] = []
        looked = 0
        for part in reversed(self.parts):
            data = part.data
            end = len(data) - 1 if data.endswith(b"\n") else len(data)
            while len(found) < count and looked < MAX_LAST_LINES:
                start = data.rfind(b"\n", 0, end) + 1
                line = Line(part, start, end)
                looked += 1
                if keep(line):
                    found.append(line)
                if start == 0:
                    break
                end = start - 1
            if len(found) >= count or looked >= MAX_LAST_LINES:
                break
        found.reverse()
        return found

    def failed_check_lines(self) -> list[Line]:
        lines: list[Line] = []
        for part in self.parts:
            if b"FAIL" not in part.data:
                continue
            for count, match in enumerate(CHECK.finditer(part.data)):
                if count >= MAX_CHECKS:
                    break
                if match.group("result") == b"FAIL":
                    lines.append(line_at(part, match.start("name")))
        return lines

    def first_header(self) -> Line | None:
        """The earliest line a header rule matched (`Error:` alone, `Error Downloading Packages:`)."""
        headers = [key for key, role in self._noise.items() if role == "header"]
        if not headers:
            return None
        order, start = min(headers)
        part = next(part for part in self.parts if part.order == order)
        return line_at(part, start)

    def next_meaningful(self, line: Line) -> Line | None:
        return self._quoted(line, "next")

    def first_line(self, needle: bytes) -> Line | None:
        for part in self.parts:
            position = part.data.find(needle)
            if position >= 0:
                return line_at(part, position)
        return None

    def traceback_exception(self) -> Line | None:
        """The exception line after a Python traceback, if there is one."""
        start = self.first_line(_TRACEBACK)
        if start is None:
            return None
        line: Line | None = start
        for _ in range(_MAX_TRACEBACK_LINES):
            line = _next(line) if line is not None else None
            if line is None:
                return None
            if _EXCEPTION_LINE.fullmatch(line.raw[:MAX_PROBE_CHARS].strip()) is not None:
                return line
        return None

    def agent_exit_code(self) -> int | None:
        for part in reversed(self.parts):
            position = part.data.rfind(b"failed to run commands: exit status ")
            if position >= 0:
                match = AGENT_EXIT.match(part.data, position)
                if match is not None:
                    return int(match.group("code"))
        return None

    def checks(self) -> dict[str, str]:
        """Healthcheck results by check name (the scripts' `CHECK <name> PASS|FAIL|SKIP` lines)."""
        results: dict[str, str] = {}
        for part in self.parts:
            if b"CHECK" not in part.data:
                continue
            for count, match in enumerate(CHECK.finditer(part.data)):
                if count >= MAX_CHECKS:
                    break
                results[match.group("name").decode("utf-8", "replace")] = match.group("result").decode()
        return results


def _captures(regex: Any, line: Line) -> dict[str, str | None]:
    """The named groups of `regex` on the line as shown (redacted): a capture never carries a
    secret the redaction hid. A group that did not match, or a line whose redaction changed it
    so the pattern no longer matches, captures nothing."""
    groups = {
        (name.decode() if isinstance(name, bytes) else name): index
        for name, index in regex.groupindex.items()
    }
    if not groups:
        return {}
    match = regex.search(line.shown.encode("utf-8", "replace"))
    if match is None:
        return dict.fromkeys(groups)
    values: dict[str, str | None] = {}
    for name, index in groups.items():
        value = match.group(index)
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        text = " ".join(text.split()) if text else ""
        values[name] = _short(text) or None
    return values


def _short(text: str) -> str:
    if len(text) <= _CAPTURE_MAX_CHARS:
        return text
    cut = text[: _CAPTURE_MAX_CHARS - 3]
    bracket = cut.rfind("[")
    if bracket >= 0 and "]" not in cut[bracket:]:
        cut = cut[:bracket]
    return cut.rstrip() + "..."


def _hresult(text: str) -> str | None:
    """An HRESULT as 0x + 8 upper-case digits: from `0x80240437`, `80240437` (as WindowsUpdate.log
    prints them) or the signed decimal `-2145124297`."""
    text = text.strip()
    digits = text[2:] if text.lower().startswith("0x") else text
    if re.fullmatch(r"[0-9A-Fa-f]{8}", digits):
        return f"0x{digits.upper()}"
    if text.startswith("-") and _HRESULT_DECIMAL.fullmatch(text):
        return f"0x{int(text) & 0xFFFFFFFF:08X}"
    return None
