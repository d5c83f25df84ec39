"""The failure-rule catalogue: rules as data, validated on load. Pure (reads package data only).

A rule says what a log line means. Built-in rules live in `catalogue/<family>.toml`, one file
per family (apt, dnf_yum, zypper, windows_update, powershell, ssm_agent, runpatchbaseline,
healthcheck, os); an operator adds rules in the same format (TOML text, for example in an SSM
parameter named by the stack's `ExtraRulesParameter`). Each rule:

    [[rule]]
    id = "apt.lock-held"              # family.name, unique
    match = '''Could not get lock (?P<path>/\\S+)'''   # RE2 syntax, one line, case-insensitive
    reason = "apt/dpkg lock {path} is held[ by {process}][ (pid {pid})]"
    next_step = "wait for the other package run to finish, then run the patch again"
    severity = "high"                 # critical | high | medium | low
    examples = [{ log = "E: Could not get lock ...", source = "https://..." }]

`{name}` is a named group of `match` (or of a `context` pattern, searched in the whole stream);
`[...]` is dropped when a placeholder inside it captured nothing. `{line}` is the quoted line
without its timestamp and level; `{hresult_meaning}` and `{hresult_name}` come from the HRESULT
table for a `{hresult}` capture. `role` other than "cause" marks lines that are never a reason:
"decoration" (PowerShell's `+ CategoryInfo`), "advice" ("Close this application before trying
again."), "header" (`Error:` with the detail on the next line). `quote = "previous"` makes the
line before the match the quoted one (a PowerShell error record's message precedes its
`At line:`); `quote = "next"` the line after (a header).

Patterns are RE2 (google-re2): matching time is linear in the text for every rule, an operator's
included, so no rule can make a log slow to explain. RE2 has no look-around, backreferences or
possessive quantifiers; a rule that uses them is refused with the compiler's message.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from instance_hygiene.explain.prepared import re2_module, re2_options
from instance_hygiene.explain.templates import SEVERITY_RANK, fill, placeholders

__all__ = [
    "FAMILIES",
    "SEVERITY_RANK",
    "Catalogue",
    "ExitCode",
    "HResult",
    "Rule",
    "RuleProblem",
    "builtin_catalogue",
    "fill",
    "parse_rules",
    "placeholders",
]

FAMILIES = (
    "apt",
    "dnf_yum",
    "zypper",
    "windows_update",
    "powershell",
    "ssm_agent",
    "runpatchbaseline",
    "healthcheck",
    "os",
)
"""The built-in families, one catalogue file each (in this order)."""

Severity = Literal["critical", "high", "medium", "low"]

SPECIAL_PLACEHOLDERS = frozenset({"line", "hresult_meaning", "hresult_name", "step"})
_GROUP_NAME = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")
_RULE_ID = r"^[a-z][a-z0-9_]{1,31}\.[a-z0-9][a-z0-9-]{0,63}$"
MAX_PATTERN_CHARS = 2_000
MAX_RULES = 500

_STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Example(BaseModel):
    """A real-shaped log excerpt the rule must explain, and where it was published."""

    model_config = _STRICT
    log: Annotated[str, Field(min_length=1, max_length=8_000)]
    source: Annotated[str, Field(min_length=4, max_length=500)]
    reason: str | None = None
    """The reason the whole summariser gives on `log` (checked by the catalogue's tests)."""
    document: Literal["patch", "healthcheck", "shell"] = "patch"
    step: str | None = None


class Rule(BaseModel):
    model_config = _STRICT
    id: Annotated[str, Field(pattern=_RULE_ID)]
    match: Annotated[str, Field(min_length=3, max_length=MAX_PATTERN_CHARS)]
    role: Literal["cause", "decoration", "advice", "header"] = "cause"
    reason: Annotated[str, Field(max_length=300)] = ""
    next_step: Annotated[str, Field(max_length=300)] | None = None
    severity: Severity = "medium"
    quote: Literal["line", "previous", "next"] = "line"
    context: Mapping[str, Annotated[str, Field(min_length=3, max_length=MAX_PATTERN_CHARS)]] = Field(
        default_factory=dict
    )
    """Named captures looked for anywhere in the stream when the matched line lacks them."""
    documents: tuple[Literal["patch", "healthcheck", "shell"], ...] = ()
    """Only for these kinds of document (empty: any)."""
    steps: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = ()
    """Only when the failed step's name contains one of these (empty: any step)."""
    case_sensitive: bool = False
    examples: tuple[Example, ...] = ()

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]

    @field_validator("match")
    @classmethod
    def _one_pattern(cls, value: str) -> str:
        _compile_check(value)
        return value

    @field_validator("context")
    @classmethod
    def _context_patterns(cls, value: Mapping[str, str]) -> Mapping[str, str]:
        for name, pattern in value.items():
            if name not in _GROUP_NAME.findall(pattern):
                raise ValueError(f"context pattern for {name!r} has no group (?P<{name}>...)")
            _compile_check(pattern)
        return value

    @model_validator(mode="after")
    def _templates(self) -> Rule:
        if self.role == "cause" and not self.reason:
            raise ValueError("a cause rule needs a reason")
        known = set(_GROUP_NAME.findall(self.match)) | set(self.context) | SPECIAL_PLACEHOLDERS
        for field, template in (("reason", self.reason), ("next_step", self.next_step or "")):
            if template.count("[") != template.count("]"):
                raise ValueError(f"{field}: unbalanced [ ] in {template!r}")
            unknown = sorted(set(placeholders(template)) - known)
            if unknown:
                raise ValueError(f"{field}: {{{unknown[0]}}} is not a named group of match or context")
        return self


class HResult(BaseModel):
    model_config = _STRICT
    code: Annotated[str, Field(pattern=r"^0x[0-9A-F]{8}$")]
    name: Annotated[str, Field(max_length=64)] = ""
    meaning: Annotated[str, Field(min_length=3, max_length=200)]
    next_step: Annotated[str, Field(max_length=300)] | None = None
    source: Annotated[str, Field(min_length=4, max_length=500)]


class ExitCode(BaseModel):
    model_config = _STRICT
    code: int
    meaning: Annotated[str, Field(min_length=3, max_length=200)]
    documents: tuple[Literal["patch", "healthcheck", "shell"], ...] = ()
    vague: bool = False
    """Too vague to be the reason while the log may say more (0, 1, -1, 126, 127)."""
    next_step: Annotated[str, Field(max_length=300)] | None = None
    source: Annotated[str, Field(min_length=4, max_length=500)]


class _File(BaseModel):
    model_config = _STRICT
    rule: tuple[dict[str, Any], ...] = ()
    hresult: tuple[HResult, ...] = ()
    exit_code: tuple[ExitCode, ...] = ()


@dataclass(frozen=True)
class RuleProblem:
    """A rule (or file) that was not loaded, and why: one line for logs and notes."""

    origin: str
    rule_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.origin}: rule {self.rule_id}" if self.rule_id else self.origin
        return f"{where} ignored: {self.message}"


@dataclass(frozen=True)
class Catalogue:
    rules: tuple[Rule, ...]
    hresults: Mapping[str, HResult]
    exit_codes: tuple[ExitCode, ...]
    problems: tuple[RuleProblem, ...] = ()

    def with_extra(self, extra: Catalogue) -> Catalogue:
        """This catalogue plus operator rules; an extra rule with a built-in id replaces it."""
        ids = {rule.id for rule in extra.rules}
        return Catalogue(
            rules=(*extra.rules, *(rule for rule in self.rules if rule.id not in ids)),
            hresults={**self.hresults, **extra.hresults},
            exit_codes=(*extra.exit_codes, *self.exit_codes),
            problems=(*self.problems, *extra.problems),
        )


def _compile_check(pattern: str) -> None:
    if "\n" in pattern or "\r" in pattern:
        raise ValueError("a pattern is one line (use \\n nowhere: rules match within a line)")
    re2 = re2_module()
    try:
        re2.compile(pattern, re2_options())  # the options the engine matches with
    except re2.error as error:
        raise ValueError(f"not a valid RE2 pattern: {_error_text(error)}") from None


def _error_text(error: Exception) -> str:
    text = error.args[0] if error.args else str(error)
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)


def parse_rules(text: str, *, origin: str) -> Catalogue:
    """Rules, HRESULTs and exit codes from one TOML text. A bad rule is left out with a
    `RuleProblem` saying why; a text that is not TOML at all yields no rules and one problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return Catalogue((), {}, (), (RuleProblem(origin, None, f"not TOML: {error}"),))
    rules: list[Rule] = []
    problems: list[RuleProblem] = []
    unknown = sorted(set(raw) - {"rule", "hresult", "exit_code"})
    if unknown:
        problems.append(RuleProblem(origin, None, f"unknown table {unknown[0]!r} (rule, hresult, exit_code)"))
    entries = raw.get("rule", [])
    if not isinstance(entries, list):
        entries = []
        problems.append(RuleProblem(origin, None, "`rule` must be an array of tables ([[rule]])"))
    for index, entry in enumerate(entries[:MAX_RULES]):
        rule_id = entry.get("id") if isinstance(entry, dict) and isinstance(entry.get("id"), str) else None
        try:
            rules.append(Rule.model_validate(entry))
        except ValidationError as error:
            problems.append(RuleProblem(origin, rule_id or f"#{index + 1}", _first_error(error)))
    if len(entries) > MAX_RULES:
        problems.append(RuleProblem(origin, None, f"only the first {MAX_RULES} rules are read"))
    try:
        tables = _File.model_validate(
            {"hresult": raw.get("hresult", []), "exit_code": raw.get("exit_code", [])}
        )
    except ValidationError as error:
        problems.append(RuleProblem(origin, None, _first_error(error)))
        tables = _File()
    rules = _unique(rules, origin, problems)
    return Catalogue(
        rules=tuple(rules),
        hresults={entry.code: entry for entry in tables.hresult},
        exit_codes=tables.exit_code,
        problems=tuple(problems),
    )


def _unique(rules: Iterable[Rule], origin: str, problems: list[RuleProblem]) -> list[Rule]:
    seen: set[str] = set()
    kept: list[Rule] = []
    for rule in rules:
        if rule.id in seen:
            problems.append(RuleProblem(origin, rule.id, "a second rule with this id"))
            continue
        seen.add(rule.id)
        kept.append(rule)
    return kept


def _first_error(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid"))
    return f"{where}: {message}" if where else message


@cache
def builtin_catalogue() -> Catalogue:
    """Every built-in family file, merged. A problem here is a bug: the tests load with none."""
    rules: list[Rule] = []
    hresults: dict[str, HResult] = {}
    exit_codes: list[ExitCode] = []
    problems: list[RuleProblem] = []
    folder = resources.files("instance_hygiene.explain") / "catalogue"
    for family in FAMILIES:
        name = f"{family}.toml"
        part = parse_rules((folder / name).read_text(encoding="utf-8"), origin=name)
        for rule in part.rules:
            if rule.family != family:
                problems.append(RuleProblem(name, rule.id, f"belongs in {rule.family}.toml"))
                continue
            rules.append(rule)
        hresults.update(part.hresults)
        exit_codes.extend(part.exit_codes)
        problems.extend(part.problems)
    kept = _unique(rules, "catalogue", problems)
    return Catalogue(tuple(kept), hresults, tuple(exit_codes), tuple(problems))
