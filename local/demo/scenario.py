"""Scenario files (local/scenarios/<name>.json): what a night of the window plays, checked.

`load_scenario` reads a file by name or path, `parse_scenario` checks a JSON document; both raise
ScenarioError saying what is wrong where. The format is documented in docs/demo.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local import agent_logs
from local.agent_logs import HEALTHCHECK, LINUX, MACOS, PATCH, WINDOWS

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
TASKS = (PATCH, HEALTHCHECK)
PATCH_GROUP = "prod"
"""The window's target: instances tagged Patch Group = prod (the template's TargetTagValue)."""

_MAX_ERRORS = re.compile(r"^([0-9]{1,7}|[0-9]{1,2}%|100%)$")
_MAX_CONCURRENCY = re.compile(r"^([1-9][0-9]{0,6}|[1-9][0-9]?%|100%)$")
_NAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
_WINDOW_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,128}$")
_TAG_VALUE = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{1,128}$")
PATCH_PARAMETERS = {"Operation": ("Scan", "Install"), "RebootOption": ("NoReboot", "RebootIfNeeded")}
HEALTHCHECK_PARAMETERS = (
    "RequiredServices",
    "MinFreeDiskPercent",
    "MinFreeMemoryPercent",
    "HttpEndpoint",
    "FailOnPendingReboot",
    "ExecutionTimeout",
)
IMPLIED_KINDS = frozenset({"success", "healthcheck-macos"})
"""Kinds no file lists: what every instance not listed ends as (agent_logs.default_kind)."""


SCENARIO_KEYS = frozenset(
    {"description", "seed", "region", "fleet", "window", "patch", "healthcheck", "standin", "earlier_nights"}
)
"""The keys a scenario file may have (docs/demo.md, "Scenario file format")."""


class ScenarioError(ValueError):
    """A scenario file that cannot be played as written."""


@dataclass(frozen=True)
class FleetGroup:
    count: int
    platform: str
    name_prefix: str
    managed: bool = False
    """Hybrid nodes (mi-) registered with an activation instead of EC2 instances."""
    patch_group: str = PATCH_GROUP
    """The Patch Group tag the group carries; the window targets only PATCH_GROUP."""


@dataclass(frozen=True)
class OutcomeCount:
    """`count` instances end a task as `kind` (see local.agent_logs.KINDS)."""

    kind: str
    count: int
    platform: str | None = None
    """Only instances of this platform (default: any the kind can happen on)."""
    logs_reach_s3: bool | None = None
    """False: the instance role cannot write its output (default: as the kind says)."""
    size_mb: float | None = None
    """For large-log: the size of the log."""


@dataclass(frozen=True)
class TaskPlan:
    task: str
    outcomes: tuple[OutcomeCount, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)

    def failures(self) -> int:
        return sum(o.count for o in self.outcomes if agent_logs.KINDS[o.kind].failed)


@dataclass(frozen=True)
class Cutoff:
    task: str
    when: str
    """before: the task never starts; during: CancelCommand stops it (CANCEL_TASK)."""


@dataclass(frozen=True)
class WindowPlan:
    name: str = "PatchWithHealthcheck"
    max_errors: str = "0"
    max_concurrency: str = "100%"
    cutoff_behavior: str = "CONTINUE_TASK"
    cutoff: Cutoff | None = None
    max_errors_why: str = ""
    not_run: tuple[str, ...] = ()
    """Tasks the execution does not run although it ends SUCCESS (when AWS does so: UNVERIFIED)."""


@dataclass(frozen=True)
class StandinPlan:
    """How the stand-in plays what is UNVERIFIED about AWS (defaults: its original choices)."""

    incomplete_status: str = "Failed"
    """ListCommands' Status of a command whose StatusDetails is Incomplete: Failed or Success."""
    delivery_timeouts_count: bool = True
    """Whether delivery timeouts count against MaxErrors for the command's status."""
    command_event_status: str = "Status"
    """What a command's final event says: ListCommands' Status, or its StatusDetails the way
    AWS's patch-reporting sample matches them (Incomplete, DeliveryTimedOut, ...)."""


@dataclass(frozen=True)
class EarlierNight:
    """A night of the same window on the same fleet before tonight's: what each task ended as
    (the window's settings and the tasks' parameters are tonight's; the cutoff is its own)."""

    patch: TaskPlan
    healthcheck: TaskPlan
    cutoff: Cutoff | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    region: str
    fleet: tuple[FleetGroup, ...]
    window: WindowPlan
    patch: TaskPlan
    healthcheck: TaskPlan
    standin: StandinPlan = field(default_factory=StandinPlan)
    earlier_nights: tuple[EarlierNight, ...] = ()
    """Nights played before tonight's, oldest first, one a day (what history remembers)."""
    logs_reach_s3: bool = True
    """False: the instances' role may not write to the log bucket (an Organization member's, see
    local.demo.organization), so no instance's output reaches S3, whatever its outcome."""

    @property
    def size(self) -> int:
        return sum(group.count for group in self.fleet)

    @property
    def targeted(self) -> int:
        """How many instances the window's target (Patch Group = PATCH_GROUP) matches."""
        return sum(group.count for group in self.fleet if group.patch_group == PATCH_GROUP)

    def plan(self, task: str) -> TaskPlan:
        return self.patch if task == PATCH else self.healthcheck

    def nights_before(self, count: int) -> Scenario:
        """The night `count` nights before tonight's (1: last night), as a scenario of its own."""
        earlier = self.earlier_nights[len(self.earlier_nights) - count]
        return replace(
            self,
            patch=replace(earlier.patch, parameters=self.patch.parameters),
            healthcheck=replace(earlier.healthcheck, parameters=self.healthcheck.parameters),
            window=replace(self.window, cutoff=earlier.cutoff),
            earlier_nights=(),
        )


def scenario_names() -> list[str]:
    """The one-account scenarios of local/scenarios (an Organization's, with members, is read by
    local.demo.organization)."""
    return sorted(
        path.stem for path in SCENARIOS.glob("*.json") if "members" not in json.loads(path.read_text())
    )


def scenario_path(name_or_path: str) -> Path:
    """A scenario by name (local/scenarios/<name>.json) or by file path."""
    path = Path(name_or_path)
    if path.suffix == ".json" and path.is_file():
        return path
    candidate = SCENARIOS / f"{name_or_path}.json"
    if candidate.is_file():
        return candidate
    known = sorted(path.stem for path in SCENARIOS.glob("*.json"))
    raise ScenarioError(f"no scenario {name_or_path!r}; known: {', '.join(known)}")


def _keys(
    where: str, raw: Mapping[str, Any], allowed: Collection[str], required: Collection[str] = ()
) -> None:
    unknown = set(raw) - set(allowed)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    missing = set(required) - set(raw)
    if missing:
        raise ScenarioError(f"{where}: missing key(s) {sorted(missing)}")


def _object(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _count(where: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScenarioError(f"{where}: expected a whole number >= {minimum}, got {value!r}")
    return value


def _choice(where: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ScenarioError(f"{where}: {value!r} is not one of {list(allowed)}")
    return str(value)


def _flag(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(f"{where}: expected true or false, got {value!r}")
    return value


def _fleet(raw: Any) -> tuple[FleetGroup, ...]:
    if not isinstance(raw, list) or not raw:
        raise ScenarioError("fleet: expected a non-empty list of {count, platform, name_prefix}")
    groups = []
    for number, item in enumerate(raw):
        where = f"fleet[{number}]"
        entry = _object(where, item)
        _keys(
            where,
            entry,
            {"count", "platform", "name_prefix", "managed", "patch_group"},
            {"count", "platform", "name_prefix"},
        )
        prefix = entry["name_prefix"]
        if not isinstance(prefix, str) or not _NAME_PREFIX.match(prefix):
            raise ScenarioError(f"{where}.name_prefix: {prefix!r} is not lower-case letters, digits and -")
        patch_group = entry.get("patch_group", PATCH_GROUP)
        if not isinstance(patch_group, str) or not _TAG_VALUE.match(patch_group):
            raise ScenarioError(f"{where}.patch_group: {patch_group!r} is not a tag value (1-128 characters)")
        group = FleetGroup(
            count=_count(f"{where}.count", entry["count"], 1),
            platform=_choice(f"{where}.platform", entry["platform"], (LINUX, WINDOWS, MACOS)),
            name_prefix=prefix,
            managed=_flag(f"{where}.managed", entry.get("managed", False)),
            patch_group=patch_group,
        )
        if group.managed and group.platform == MACOS:
            raise ScenarioError(f"{where}: macOS nodes are EC2 Mac instances here (managed: false)")
        groups.append(group)
    prefixes = [g.name_prefix for g in groups]
    if len(set(prefixes)) != len(prefixes):
        raise ScenarioError(f"fleet: name prefixes repeat: {prefixes}")
    return tuple(groups)


def _outcomes(task: str, raw: Any) -> tuple[OutcomeCount, ...]:
    where = f"{task}.outcomes"
    entries = []
    for kind, value in _object(where, raw).items():
        spec = agent_logs.KINDS.get(kind)
        if spec is None:
            raise ScenarioError(
                f"{where}: unknown kind {kind!r}; known: {', '.join(sorted(agent_logs.KINDS))}"
            )
        if task not in spec.tasks:
            raise ScenarioError(f"{where}: {kind!r} does not happen in the {task} task")
        if kind in IMPLIED_KINDS:
            raise ScenarioError(
                f"{where}: {kind!r} is implied (every instance not listed succeeds, except that "
                "a macOS node fails the healthcheck)"
            )
        if isinstance(value, int) and not isinstance(value, bool):
            entries.append(OutcomeCount(kind, _count(f"{where}.{kind}", value)))
            continue
        entry = _object(f"{where}.{kind}", value)
        _keys(f"{where}.{kind}", entry, {"count", "platform", "logs_reach_s3", "size_mb"}, {"count"})
        platform = entry.get("platform")
        if platform is not None:
            platform = _choice(f"{where}.{kind}.platform", platform, spec.platforms)
        size_mb = entry.get("size_mb")
        if size_mb is not None and (not isinstance(size_mb, int | float) or not 0 < size_mb <= 200):
            raise ScenarioError(f"{where}.{kind}.size_mb: expected a number of MB in (0, 200]")
        reach = entry.get("logs_reach_s3")
        entries.append(
            OutcomeCount(
                kind,
                _count(f"{where}.{kind}.count", entry["count"]),
                platform=platform,
                logs_reach_s3=_flag(f"{where}.{kind}.logs_reach_s3", reach) if reach is not None else None,
                size_mb=float(size_mb) if size_mb is not None else None,
            )
        )
    return tuple(e for e in entries if e.count)


def _task(task: str, raw: Any) -> TaskPlan:
    entry = _object(task, raw if raw is not None else {})
    _keys(task, entry, {"outcomes", "parameters"})
    parameters = {
        str(k): str(v) for k, v in _object(f"{task}.parameters", entry.get("parameters", {})).items()
    }
    if task == PATCH:
        for name, value in parameters.items():
            _choice(f"patch.parameters.{name}", value, PATCH_PARAMETERS.get(name, ()))
    else:
        unknown = set(parameters) - set(HEALTHCHECK_PARAMETERS)
        if unknown:
            raise ScenarioError(f"healthcheck.parameters: unknown {sorted(unknown)}")
    return TaskPlan(task, _outcomes(task, entry.get("outcomes", {})), parameters)


def _not_run(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or len(set(map(str, raw))) != len(raw):
        raise ScenarioError(f"window.not_run: expected a list of distinct tasks {list(TASKS)}")
    tasks = tuple(_choice("window.not_run[]", task, TASKS) for task in raw)
    if len(tasks) == len(TASKS):
        raise ScenarioError("window.not_run: at least one task runs (an execution of none is not modelled)")
    return tasks


def _cutoff(where: str, raw: Any) -> Cutoff:
    entry = _object(where, raw)
    _keys(where, entry, {"task", "when"}, {"task", "when"})
    return Cutoff(
        task=_choice(f"{where}.task", entry["task"], TASKS),
        when=_choice(f"{where}.when", entry["when"], ("before", "during")),
    )


def _window(raw: Any) -> WindowPlan:
    entry = _object("window", raw if raw is not None else {})
    _keys(
        "window",
        entry,
        {"name", "max_errors", "max_errors_why", "max_concurrency", "cutoff_behavior", "cutoff", "not_run"},
    )
    plan = WindowPlan(
        name=str(entry.get("name", WindowPlan.name)),
        max_errors=str(entry.get("max_errors", WindowPlan.max_errors)),
        max_concurrency=str(entry.get("max_concurrency", WindowPlan.max_concurrency)),
        cutoff_behavior=_choice(
            "window.cutoff_behavior",
            entry.get("cutoff_behavior", WindowPlan.cutoff_behavior),
            ("CONTINUE_TASK", "CANCEL_TASK"),
        ),
        max_errors_why=str(entry.get("max_errors_why", "")),
        not_run=_not_run(entry.get("not_run", [])),
    )
    if not _WINDOW_NAME.match(plan.name):
        raise ScenarioError(f"window.name: {plan.name!r} is not 3-128 of A-Z a-z 0-9 _ . -")
    if not _MAX_ERRORS.match(plan.max_errors):
        raise ScenarioError(f"window.max_errors: {plan.max_errors!r} (a number, or a percentage up to 100%)")
    if not _MAX_CONCURRENCY.match(plan.max_concurrency):
        raise ScenarioError(f"window.max_concurrency: {plan.max_concurrency!r}")
    cutoff = entry.get("cutoff")
    if cutoff is not None:
        plan = replace(plan, cutoff=_cutoff("window.cutoff", cutoff))
    return plan


MAX_EARLIER_NIGHTS = 7
"""Enough to show a streak ("8th night in a row"); each is a whole night played."""


def _earlier_nights(raw: Any) -> tuple[EarlierNight, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_EARLIER_NIGHTS:
        raise ScenarioError(
            f"earlier_nights: expected a list of at most {MAX_EARLIER_NIGHTS} nights, oldest first"
        )
    nights = []
    for number, item in enumerate(raw):
        where = f"earlier_nights[{number}]"
        entry = _object(where, item)
        _keys(where, entry, {PATCH, HEALTHCHECK, "cutoff"})
        plans = []
        for task in TASKS:
            task_entry = _object(f"{where}.{task}", entry.get(task, {}))
            _keys(f"{where}.{task}", task_entry, {"outcomes"})
            try:
                plans.append(_task(task, task_entry))
            except ScenarioError as error:
                raise ScenarioError(f"{where}.{error}") from None
        cutoff = entry.get("cutoff")
        nights.append(
            EarlierNight(
                patch=plans[0],
                healthcheck=plans[1],
                cutoff=_cutoff(f"{where}.cutoff", cutoff) if cutoff is not None else None,
            )
        )
    return tuple(nights)


def _standin(raw: Any) -> StandinPlan:
    entry = _object("standin", raw if raw is not None else {})
    _keys("standin", entry, {"incomplete_status", "delivery_timeouts_count", "command_event_status"})
    return StandinPlan(
        incomplete_status=_choice(
            "standin.incomplete_status",
            entry.get("incomplete_status", StandinPlan.incomplete_status),
            ("Failed", "Success"),
        ),
        delivery_timeouts_count=_flag(
            "standin.delivery_timeouts_count",
            entry.get("delivery_timeouts_count", StandinPlan.delivery_timeouts_count),
        ),
        command_event_status=_choice(
            "standin.command_event_status",
            entry.get("command_event_status", StandinPlan.command_event_status),
            ("Status", "StatusDetails"),
        ),
    )


def parse_scenario(name: str, raw: Any) -> Scenario:
    """A scenario from its JSON document, checked (ScenarioError says what is wrong where)."""
    entry = _object(name, raw)
    _keys(name, entry, SCENARIO_KEYS, {"fleet"})
    scenario = Scenario(
        name=name,
        description=str(entry.get("description", "")),
        seed=_count("seed", entry.get("seed", 1)),
        region=str(entry.get("region", "eu-west-2")),
        fleet=_fleet(entry["fleet"]),
        window=_window(entry.get("window")),
        patch=_task(PATCH, entry.get(PATCH)),
        healthcheck=_task(HEALTHCHECK, entry.get(HEALTHCHECK)),
        standin=_standin(entry.get("standin")),
        earlier_nights=_earlier_nights(entry.get("earlier_nights", [])),
    )
    _check_plan(scenario)
    for before in range(len(scenario.earlier_nights), 0, -1):
        where = f"earlier_nights[{len(scenario.earlier_nights) - before}]"
        try:
            _check_plan(scenario.nights_before(before))
        except ScenarioError as error:
            raise ScenarioError(f"{where}.{error}") from None
    return scenario


def _targets_phrase(scenario: Scenario) -> str:
    if scenario.targeted == scenario.size:
        return f"a fleet of {scenario.size}"
    return f"the {scenario.targeted} instance(s) of {scenario.size} tagged Patch Group={PATCH_GROUP}"


def _check_plan(scenario: Scenario) -> None:
    cutoff = scenario.window.cutoff
    for task in TASKS:
        plan = scenario.plan(task)
        listed = sum(o.count for o in plan.outcomes)
        if listed > scenario.targeted:
            raise ScenarioError(f"{task}: {listed} outcomes listed for {_targets_phrase(scenario)}")
        cancelled = sum(o.count for o in plan.outcomes if o.kind == "cancelled")
        cut_during = cutoff is not None and cutoff.task == task and cutoff.when == "during"
        if cancelled and not cut_during:
            raise ScenarioError(f"{task}: 'cancelled' needs window.cutoff {{task: {task}, when: during}}")
        if cutoff is not None and cutoff.task == task and cutoff.when == "before" and plan.outcomes:
            raise ScenarioError(f"{task}: the cutoff comes before it starts, so it can have no outcomes")
        if task in scenario.window.not_run and (plan.outcomes or (cutoff and cutoff.task == task)):
            raise ScenarioError(f"{task}: in window.not_run, so it can have no outcomes and no cutoff")
    if cutoff is not None and cutoff.when == "during" and scenario.window.cutoff_behavior != "CANCEL_TASK":
        raise ScenarioError(
            "window.cutoff during a task needs cutoff_behavior CANCEL_TASK (with CONTINUE_TASK, the "
            "template's, a running command goes on past the cutoff)"
        )
    context = task_context(scenario, PATCH, "00000000-0000-4000-8000-000000000000", datetime.now(UTC))
    for task in TASKS:
        with_task = replace(context, task=task)
        for entry in scenario.plan(task).outcomes:
            problem = agent_logs.KINDS[entry.kind].needs(with_task)
            if problem:
                raise ScenarioError(f"{task}.outcomes.{entry.kind}: {problem}")


def task_context(scenario: Scenario, task: str, command_id: str, started: datetime) -> agent_logs.TaskContext:
    """What the generators of local.agent_logs need to know about one task of the night."""
    patch = scenario.patch.parameters
    health = scenario.healthcheck.parameters
    services = tuple(s for s in health.get("RequiredServices", "").split(",") if s)
    return agent_logs.TaskContext(
        task=task,
        command_id=command_id,
        started=started,
        seed=scenario.seed,
        region=scenario.region,
        operation=patch.get("Operation", "Install"),
        reboot_option=patch.get("RebootOption", "RebootIfNeeded"),
        patch_group=PATCH_GROUP,
        healthcheck=agent_logs.HealthcheckSettings(
            required_services=services,
            min_free_disk_percent=int(health.get("MinFreeDiskPercent", "10")),
            min_free_memory_percent=int(health.get("MinFreeMemoryPercent", "5")),
            http_endpoint=health.get("HttpEndpoint", ""),
            fail_on_pending_reboot=health.get("FailOnPendingReboot", "false") == "true",
        ),
    )


def load_scenario(name_or_path: str) -> Scenario:
    path = scenario_path(name_or_path)
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ScenarioError(f"{path}: not valid JSON: {error}") from None
    return parse_scenario(path.stem, raw)
