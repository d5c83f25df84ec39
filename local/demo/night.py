"""Playing the night: the fleet, the window, both tasks' commands and every aws.ssm event.

`play_night` creates the scenario's instances in the stand-in, plays each task's command with
local.fleet_sim (the outcomes built by local.agent_logs, their output in the log bucket), records
the window execution and lists the night's EventBridge events in the order AWS emits them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from local import agent_logs, fleet_sim
from local.agent_logs import HEALTHCHECK, PATCH, Host
from local.demo.fleet import create_fleet, register_node, window_targets
from local.demo.scenario import PATCH_GROUP, TASKS, OutcomeCount, Scenario, ScenarioError, task_context
from local.fleet_sim import InstanceResult, PlayedCommand, TaskRun
from local.stack import Clients, Stack
from local.standin import ssm as standin
from local.template import Deployment

PATCH_DOCUMENT = "AWS-RunPatchBaseline"
LOG_PREFIX = Deployment().parameter("LogPrefix")
SCRIPTS_PREFIX = Deployment().parameter("ScriptsPrefix")
# Invocations that count against MaxErrors (the stand-in's ErrorCount).
ERROR_DETAILS = frozenset({"Failed", "Execution Timed Out"})
# TimeoutSeconds (delivery) of each task's command in template.yaml.
DELIVERY_TIMEOUT_SECONDS = {PATCH: 3600, HEALTHCHECK: 600}
REQUEST_DELAY = timedelta(seconds=1)
"""From a task's start to its command's RequestedDateTime (and first event)."""
STICKY_KINDS = frozenset({"delivery-timed-out"})
"""Kinds that stay with an instance all night (a stopped instance misses every task)."""


@dataclass
class PlayedTask:
    """One task of the night: what each instance ended as, and the command (when it ran)."""

    task: str
    document: str
    kinds: dict[str, str]
    """instance id -> outcome kind"""
    outcomes: dict[str, InstanceResult]
    parameters: dict[str, list[str]]
    start: datetime
    end: datetime
    command_id: str
    """The id its command gets when it is sent."""
    command: PlayedCommand | None = None
    command_status: str = ""
    """The status of the command's final event (what CommandFailedFunction is told)."""
    task_status: str = "NOT_RUN"
    task_status_details: str = ""
    task_execution_id: str | None = None

    @property
    def errors(self) -> int:
        return sum(o.status_details in ERROR_DETAILS for o in self.outcomes.values())

    def statuses(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes.values())


@dataclass
class Fleet:
    """What every night of the window plays on: the instances and the window (set up once)."""

    hosts: list[Host]
    window: fleet_sim.Window
    offline: set[str] = field(default_factory=set)
    """Instances stopped (EC2) or disconnected (mi-) by the last night played."""


@dataclass
class Night:
    scenario: Scenario
    stack: Stack
    hosts: list[Host]
    window: fleet_sim.Window
    window_execution_id: str
    window_status: str
    window_status_details: str
    start: datetime
    end: datetime
    tasks: dict[str, PlayedTask]
    offline: list[str]
    events: list[dict[str, Any]] = field(default_factory=list)
    nights_before: int = 0
    """0: tonight; n: the night n nights before tonight's (an earlier night of the scenario)."""

    def commands(self) -> list[PlayedTask]:
        return [t for t in self.tasks.values() if t.command is not None]

    def worth_telling(self, event: Mapping[str, Any]) -> bool:
        """The truth of the night, from what was played (not from what a handler decided)."""
        detail = event["detail"]
        if "command-id" in detail:
            played = next(
                t for t in self.commands() if t.command and t.command.command_id == detail["command-id"]
            )
            return any(o.status != "Success" for o in played.outcomes.values()) or not played.outcomes
        return self.window_status != "SUCCESS" or any(
            t.task_status == "NOT_RUN" or t.command is None or not t.outcomes for t in self.tasks.values()
        )


def healthcheck_document(stack: Stack) -> str:
    if stack.healthcheck_document is None:
        raise ValueError("the night needs the stack's healthcheck document (local.stack.provision)")
    return stack.healthcheck_document


def _uuid(scenario: Scenario, *parts: object) -> str:
    return str(uuid.UUID(int=agent_logs.seeded(scenario.seed, *parts).getrandbits(128), version=4))


def _night_uuid(scenario: Scenario, nights_before: int, *parts: object) -> str:
    """Tonight's ids as they always were; an earlier night's ids its own."""
    return _uuid(scenario, *parts, *(("nights-before", nights_before) if nights_before else ()))


def allocate(scenario: Scenario, hosts: Sequence[Host], task: str) -> dict[str, OutcomeCount]:
    """Which instance ends `task` as which kind: deterministic for the seed. Sticky kinds
    (a stopped instance) take the same instances in every task; the rest are spread at random;
    every instance not listed succeeds."""
    fleet_order = list(range(len(hosts)))
    agent_logs.seeded(scenario.seed, "fleet").shuffle(fleet_order)
    task_order = list(range(len(hosts)))
    agent_logs.seeded(scenario.seed, "allocate", task).shuffle(task_order)
    entries = sorted(scenario.plan(task).outcomes, key=lambda e: e.kind not in STICKY_KINDS)
    chosen: dict[str, OutcomeCount] = {}
    for entry in entries:
        platforms = (entry.platform,) if entry.platform else agent_logs.KINDS[entry.kind].platforms
        order = fleet_order if entry.kind in STICKY_KINDS else task_order
        picked = [
            hosts[i] for i in order if hosts[i].instance_id not in chosen and hosts[i].platform in platforms
        ][: entry.count]
        if len(picked) < entry.count:
            raise ScenarioError(
                f"{task}.outcomes.{entry.kind}: {entry.count} needed on {'/'.join(platforms)}, "
                f"only {len(picked)} such instances left"
            )
        for host in picked:
            chosen[host.instance_id] = entry
    return chosen


def _allowed_errors(max_errors: str, targets: int) -> int:
    if max_errors.endswith("%"):
        return int(float(max_errors[:-1]) * targets // 100)
    return int(max_errors)


def _task_parameters(
    scenario: Scenario, stack: Stack, task: str, window_execution_id: str
) -> dict[str, list[str]]:
    """The Parameters template.yaml gives each task's command."""
    if task == PATCH:
        patch = scenario.patch.parameters
        return {
            "Operation": [patch.get("Operation", "Install")],
            "RebootOption": [patch.get("RebootOption", "RebootIfNeeded")],
            "SnapshotId": [window_execution_id],
        }
    health = scenario.healthcheck.parameters
    return {
        "ScriptBucket": [stack.bucket],
        "LinuxScriptKey": [f"{SCRIPTS_PREFIX}healthcheck.sh"],
        "WindowsScriptKey": [f"{SCRIPTS_PREFIX}healthcheck.ps1"],
        "LinuxScriptSha256": [stack.script_sha256["LinuxSha256"]],
        "WindowsScriptSha256": [stack.script_sha256["WindowsSha256"]],
        "RequiredServices": [health.get("RequiredServices", "")],
        "MinFreeDiskPercent": [health.get("MinFreeDiskPercent", "10")],
        "MinFreeMemoryPercent": [health.get("MinFreeMemoryPercent", "5")],
        "HttpEndpoint": [health.get("HttpEndpoint", "")],
        "FailOnPendingReboot": [health.get("FailOnPendingReboot", "false")],
        "ExecutionTimeout": [health.get("ExecutionTimeout", "600")],
        "WindowExecutionId": [window_execution_id],
    }


_COMMAND_TO_TASK_STATUS = {
    "Success": "SUCCESS",
    "Failed": "FAILED",
    "TimedOut": "TIMED_OUT",
    "Cancelled": "CANCELLED",
}


def plan_tasks(
    scenario: Scenario,
    stack: Stack,
    hosts: Sequence[Host],
    *,
    start: datetime,
    end: datetime,
    execution_id: str,
    nights_before: int = 0,
) -> dict[str, PlayedTask]:
    """How every instance the window targets (`hosts`) ends each task (allocated kinds, built by
    local.agent_logs), not yet played."""
    spans = {
        PATCH: (start + timedelta(seconds=4), start + timedelta(minutes=52)),
        HEALTHCHECK: (start + timedelta(minutes=53), end - timedelta(seconds=6)),
    }
    tasks: dict[str, PlayedTask] = {}
    for task in TASKS:
        command_id = _night_uuid(scenario, nights_before, "command", task)
        context = replace(task_context(scenario, task, command_id, spans[task][0]), snapshot_id=execution_id)
        chosen = allocate(scenario, hosts, task)
        kinds = {
            h.instance_id: chosen[h.instance_id].kind
            if h.instance_id in chosen
            else agent_logs.default_kind(task, h.platform)
            for h in hosts
        }
        played_outcomes = {}
        for host in hosts:
            entry = chosen.get(host.instance_id)
            size_mb = entry.size_mb if entry else None
            outcome = agent_logs.outcome(kinds[host.instance_id], host, context, size_mb=size_mb)
            if entry is not None and entry.logs_reach_s3 is not None:
                outcome = replace(outcome, logs_reach_s3=entry.logs_reach_s3)
            if not scenario.logs_reach_s3:
                outcome = replace(outcome, logs_reach_s3=False)
            played_outcomes[host.instance_id] = outcome
        tasks[task] = PlayedTask(
            task=task,
            document=PATCH_DOCUMENT if task == PATCH else healthcheck_document(stack),
            kinds=kinds,
            outcomes=played_outcomes,
            parameters=_task_parameters(scenario, stack, task, execution_id),
            start=spans[task][0],
            end=spans[task][1],
            command_id=command_id,
        )
    return tasks


def run_tasks(
    scenario: Scenario, clients: Clients, stack: Stack, tasks: Mapping[str, PlayedTask]
) -> str | None:
    """Send each task's command in priority order, as the window does; returns what stopped the
    window early ("cutoff", "max-errors") or None. A task of window.not_run does not run; one
    whose target matched no instance runs with no invocation and sends no command."""
    cutoff = scenario.window.cutoff
    for task in TASKS:
        played = tasks[task]
        if cutoff is not None and cutoff.task == task and cutoff.when == "before":
            return "cutoff"
        if task in scenario.window.not_run:
            continue
        if not played.outcomes:
            played.task_status = "SUCCESS"  # UNVERIFIED: the status (and details) AWS records here
            continue
        played.command = fleet_sim.play_command(
            ssm=clients.ssm,
            s3=clients.s3,
            region=scenario.region,
            document_name=played.document,
            outcomes=played.outcomes,
            bucket=stack.bucket,
            prefix=LOG_PREFIX,
            parameters=played.parameters,
            comment=f"{scenario.window.name} {task}",
            command_id=played.command_id,
            requested=played.start + REQUEST_DELAY,
            finished=played.end,
            max_concurrency=scenario.window.max_concurrency,
            max_errors=scenario.window.max_errors,
            timeout_seconds=DELIVERY_TIMEOUT_SECONDS[task],
            account=stack.account,
        )
        # The command ends as the stand-in reports it (ListCommands), and its final event says so.
        status, details = fleet_sim.reported_status(clients.ssm, played.command.command_id)
        played.command.status = status
        played.command_status = fleet_sim.final_event_status(
            status, details, detailed=scenario.standin.command_event_status == "StatusDetails"
        )
        played.task_status = _COMMAND_TO_TASK_STATUS[status]
        if cutoff is not None and cutoff.task == task and cutoff.when == "during":
            # CANCEL_TASK: CancelCommand at the cutoff; a task not completed ends TIMED_OUT.
            played.command_status = played.command.status = "Cancelled"
            played.task_status = "TIMED_OUT"
            return "cutoff"
        if played.errors > _allowed_errors(scenario.window.max_errors, len(played.outcomes)):
            played.task_status_details = "The maximum number of errors was exceeded."
            return "max-errors"
    return None


def set_up(scenario: Scenario, clients: Clients, stack: Stack) -> Fleet:
    """The fleet and the window every night of the scenario plays on, and the stand-in's rules."""
    hosts = create_fleet(scenario, clients, stack.account)
    plan = scenario.standin
    standin.set_command_status_rules(
        stack.account,
        scenario.region,
        incomplete_status=plan.incomplete_status,
        delivery_timeouts_count=plan.delivery_timeouts_count,
    )
    window = fleet_sim.create_window(
        ssm=clients.ssm,
        region=scenario.region,
        name=scenario.window.name,
        healthcheck_document=healthcheck_document(stack),
        max_errors=scenario.window.max_errors,
        max_concurrency=scenario.window.max_concurrency,
        cutoff_behavior=scenario.window.cutoff_behavior,
        target_tag=("Patch Group", PATCH_GROUP),
    )
    return Fleet(hosts, window)


def play_night(
    scenario: Scenario,
    clients: Clients,
    stack: Stack,
    *,
    end: datetime | None = None,
    fleet: Fleet | None = None,
    nights_before: int = 0,
) -> Night:
    """Play the scenario: fleet and window (unless `fleet` has them from an earlier night), both
    tasks' commands with their output in S3, the window execution, and every EventBridge event of
    the night (in the order AWS would emit them)."""
    end = (end or datetime.now(UTC)).replace(microsecond=0)
    start = end - timedelta(minutes=75)
    fleet = fleet or set_up(scenario, clients, stack)
    hosts, window = fleet.hosts, fleet.window
    execution_id = _night_uuid(scenario, nights_before, "window-execution")
    targets = window_targets(scenario, hosts)
    tasks = plan_tasks(
        scenario, stack, targets, start=start, end=end, execution_id=execution_id, nights_before=nights_before
    )
    offline = _take_offline(scenario, clients, fleet, tasks, stack.account)
    stopped_by = run_tasks(scenario, clients, stack, tasks)
    ran = [t for t in tasks.values() if t.task_status != "NOT_RUN"]
    if stopped_by == "cutoff":
        status, details = "TIMED_OUT", ""
    elif any(t.task_status != "SUCCESS" for t in ran):
        status, details = "FAILED", "One or more tasks in the orchestration failed."
    else:
        status, details = "SUCCESS", ""
    fleet_sim.play_window_execution(
        region=scenario.region,
        window=window,
        status=status,
        status_details=details,
        tasks=[
            TaskRun(
                window.patch_task_id if t.task == PATCH else window.healthcheck_task_id,
                t.task_status,
                t.task_status_details,
                t.command,
                start=t.start,
                end=t.end,
            )
            for t in ran
        ],
        window_execution_id=execution_id,
        start=start,
        end=end,
        account=stack.account,
    )
    recorded = clients.ssm.describe_maintenance_window_execution_tasks(WindowExecutionId=execution_id)
    by_arn = {t["TaskArn"]: t["TaskExecutionId"] for t in recorded["WindowExecutionTaskIdentities"]}
    for played in ran:
        played.task_execution_id = by_arn.get(played.document)
    night = Night(
        scenario=scenario,
        stack=stack,
        hosts=hosts,
        window=window,
        window_execution_id=execution_id,
        window_status=status,
        window_status_details=details,
        start=start,
        end=end,
        tasks=tasks,
        offline=offline,
        nights_before=nights_before,
    )
    night.events = night_events(night)
    return night


def _take_offline(
    scenario: Scenario, clients: Clients, fleet: Fleet, tasks: Mapping[str, PlayedTask], account: str
) -> list[str]:
    """Instances that never pick a command up tonight are stopped (EC2) or lost their connection
    (mi-); those an earlier night took offline and tonight reaches are back."""
    offline = [
        h.instance_id
        for h in fleet.hosts
        if any(t.kinds.get(h.instance_id) == "delivery-timed-out" for t in tasks.values())
    ]
    tonight = set(offline)
    back = fleet.offline - tonight
    for ids, change in (
        (tonight - fleet.offline, clients.ec2.stop_instances),
        (back, clients.ec2.start_instances),
    ):
        ec2_ids = sorted(i for i in ids if i.startswith("i-"))
        if ec2_ids:
            change(InstanceIds=ec2_ids)
    changed = tonight ^ fleet.offline
    for host in fleet.hosts:
        if host.instance_id.startswith("mi-") and host.instance_id in changed:
            register_node(
                scenario,
                host.name,
                host.platform,
                host.index,
                patch_group=PATCH_GROUP,
                online=host.instance_id not in back,
                account=account,
            )
    fleet.offline = tonight
    return offline


def night_events(night: Night) -> list[dict[str, Any]]:
    """Every aws.ssm event of the night, in time order: the window and its tasks, each command
    and each of its invocations (most of them match no rule of the stack)."""
    region, account = night.scenario.region, night.stack.account
    window_id = night.window.window_id
    execution = night.window_execution_id
    timed: list[tuple[datetime, dict[str, Any]]] = [
        (
            night.start,
            fleet_sim.window_event(
                window_id=window_id,
                window_execution_id=execution,
                status="IN_PROGRESS",
                region=region,
                account=account,
                start=night.start,
                end=night.start,
            ),
        )
    ]
    for played in night.tasks.values():
        if played.task_execution_id:
            for status, moment in (("IN_PROGRESS", played.start), (played.task_status, played.end)):
                timed.append(
                    (
                        moment,
                        fleet_sim.window_task_event(
                            window_id=window_id,
                            window_execution_id=execution,
                            task_execution_id=played.task_execution_id,
                            status=status,
                            region=region,
                            account=account,
                            start=played.start,
                            end=None if status == "IN_PROGRESS" else played.end,
                        ),
                    )
                )
        command = played.command
        if command is None:
            continue
        requested = played.start + REQUEST_DELAY
        timed.append(
            (
                requested,
                fleet_sim.command_event(
                    command,
                    region=region,
                    account=account,
                    status="InProgress",
                    requested=requested,
                    time=requested,
                    parameters=played.parameters,
                ),
            )
        )
        rng = agent_logs.seeded(night.scenario.seed, "event-times", played.task)
        span = (played.end - requested).total_seconds()
        for instance_id, outcome in played.outcomes.items():
            moment = requested + timedelta(seconds=rng.uniform(0.2, 0.98) * span)
            timed.append(
                (
                    moment,
                    fleet_sim.invocation_event(
                        command_id=command.command_id,
                        document_name=command.document_name,
                        instance_id=instance_id,
                        status=outcome.status,
                        region=region,
                        account=account,
                        requested=requested,
                        time=moment,
                    ),
                )
            )
        timed.append(
            (
                played.end,
                fleet_sim.command_event(
                    command,
                    region=region,
                    account=account,
                    status=played.command_status,
                    requested=requested,
                    time=played.end,
                    parameters=played.parameters,
                ),
            )
        )
    timed.append(
        (
            night.end,
            fleet_sim.window_event(
                window_id=window_id,
                window_execution_id=execution,
                status=night.window_status,
                region=region,
                account=account,
                start=night.start,
                end=night.end,
            ),
        )
    )
    return [event for _, event in sorted(timed, key=lambda pair: pair[0])]
