"""One maintenance-window night on the offline stand-in, and the notifications subscribers get.

    python -m local.demo [--scenario NAME|FILE] [--out DIR] [--format text|all]

Starts the stand-in (moto with our SSM extensions, in this process, on a free port of
127.0.0.1), creates the stack's runtime resources in it (log bucket with the healthcheck
scripts, topic with a subscribed queue, idempotency table, healthcheck document, the fleet's
instances and the window), plays the scenario (local/scenarios/<name>.json) with
local.simulator and local.outputs, emits the night's EventBridge events in a shuffled order with
one of them twice, hands those the stack's rules match to the real handlers of
functions/*/app.py, and prints each notification as the e-mail subscriber reads it. Every
rendering is saved under --out (default out/demo/<scenario>/). Nothing here calls AWS.

Scenario files are JSON; the format is in docs/demo.md and `local.scenario.load_scenario` checks it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import sys
import time
import traceback
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
from moto.sns.models import sns_backends

from instance_hygiene.scripts_publisher import effective_hashes, publish_scripts
from local import outputs, simulator
from local.outputs import HEALTHCHECK, LINUX, MACOS, PATCH, WINDOWS, Host
from local.runtime import create_runtime
from local.scenario import (
    PATCH_GROUP,
    TASKS,
    OutcomeCount,
    Scenario,
    ScenarioError,
    StandinPlan,
    load_scenario,
    scenario_names,
    task_context,
)
from local.simulator import ACCOUNT, Outcome, PlayedCommand, TaskRun
from local.standin import ssm as standin
from local.standin.server import running

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

ROOT = Path(__file__).resolve().parent.parent
PATCH_DOCUMENT = "AWS-RunPatchBaseline"
LOG_PREFIX = "ssm_output/"
SCRIPTS_PREFIX = "scripts/"
REPORT_PREFIX = "reports/"
LINUX_AMI = "ami-760aaa0f"
WINDOWS_AMI = "ami-12c6146b"
COMMAND_FUNCTION = "CommandFailedFunction"
WINDOW_FUNCTION = "WindowFailedFunction"
# Timeouts of the two functions in template.yaml: the handlers see the remaining time shrink.
FUNCTION_TIMEOUT_SECONDS = {COMMAND_FUNCTION: 300, WINDOW_FUNCTION: 60}
FUNCTION_DIRECTORY = {COMMAND_FUNCTION: "command_failed", WINDOW_FUNCTION: "window_failed"}
# Invocations that count against MaxErrors (the stand-in's ErrorCount).
ERROR_DETAILS = frozenset({"Failed", "Execution Timed Out"})
# TimeoutSeconds (delivery) of each task's command in template.yaml.
DELIVERY_TIMEOUT_SECONDS = {PATCH: 3600, HEALTHCHECK: 600}
STICKY_KINDS = frozenset({"delivery-timed-out"})
"""Kinds that stay with an instance all night (a stopped instance misses every task)."""
# An EC2 Mac instance as DescribeInstanceInformation shows it: the agent reads PlatformName and
# PlatformVersion from `sw_vers -productName` / `-productVersion` (amazon-ssm-agent, platform_darwin.go).
MACOS_PLATFORM = ("macOS", "14.6.1")


class DemoError(RuntimeError):
    """The demo could not show what it should (a handler raised, a message is missing...)."""


# --------------------------------------------------------------------------- the stack


@dataclass(frozen=True)
class Clients:
    ssm: SSMClient
    s3: S3Client
    ec2: EC2Client
    sns: SNSClient
    sqs: SQSClient
    dynamodb: DynamoDBClient

    @classmethod
    def create(cls, region: str) -> Clients:
        session = boto3.session.Session(region_name=region)
        return cls(
            ssm=session.client("ssm"),
            s3=session.client("s3"),
            ec2=session.client("ec2"),
            sns=session.client("sns"),
            sqs=session.client("sqs"),
            dynamodb=session.client("dynamodb"),
        )


@dataclass(frozen=True)
class Stack:
    """What `sam deploy` creates that the night and the functions use, plus a subscribed queue."""

    region: str
    bucket: str
    topic_arn: str
    queue_url: str
    table: str
    healthcheck_document: str
    script_sha256: Mapping[str, str] = field(default_factory=dict)
    """The publisher's effective hashes (LinuxSha256, WindowsSha256): the task's hash parameters."""

    def function_environment(self) -> dict[str, str]:
        """The environment template.yaml gives both functions, and Powertools kept quiet."""
        return {
            "AWS_DEFAULT_REGION": self.region,
            "TOPIC_ARN": self.topic_arn,
            "IDEMPOTENCY_TABLE": self.table,
            "REPORT_BUCKET": self.bucket,
            "REPORT_PREFIX": REPORT_PREFIX,
            "NOTIFY_ON_SUCCESS": "false",
            "POWERTOOLS_SERVICE_NAME": "instance-hygiene",
            "POWERTOOLS_METRICS_NAMESPACE": "InstanceHygiene",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }


def _physical_id(seed: int, logical: str, length: int = 13) -> str:
    """A CloudFormation-style random suffix, the same for the same seed."""
    rng = outputs.seeded(seed, "stack", logical)
    return "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=length))


def provision(clients: Clients, *, region: str, seed: int) -> Stack:
    """The stack's runtime resources: log bucket (no KMS here) with the healthcheck scripts,
    topic with an SQS subscriber (not raw), idempotency table, healthcheck document."""
    runtime = create_runtime(
        lambda service: getattr(clients, service),
        region=region,
        bucket=f"instance-hygiene-logbucket-{_physical_id(seed, 'LogBucket', 12).lower()}",
        table=f"instance-hygiene-IdempotencyTable-{_physical_id(seed, 'IdempotencyTable')}",
        topic=f"instance-hygiene-NotificationTopic-{_physical_id(seed, 'NotificationTopic')}",
        queue="digest-subscriber",
    )
    bucket, table, topic_arn = runtime.bucket, runtime.table, runtime.topic_arn
    queue_url = str(runtime.queue_url)
    # What the HealthcheckScripts custom resource does on deploy; its hashes go to the task.
    published = publish_scripts(
        clients.s3, bucket=bucket, prefix=SCRIPTS_PREFIX, folder=ROOT / "documents" / "scripts"
    )
    document = "instance-hygiene-Healthcheck"  # the template names it ${AWS::StackName}-Healthcheck
    clients.ssm.create_document(
        Name=document,
        Content=(ROOT / "documents" / "healthcheck.yaml").read_text(),
        DocumentType="Command",
        DocumentFormat="YAML",
    )
    return Stack(
        region=region,
        bucket=bucket,
        topic_arn=topic_arn,
        queue_url=queue_url,
        table=table,
        healthcheck_document=document,
        script_sha256=effective_hashes(published),
    )


# --------------------------------------------------------------------------- playing the night


@dataclass
class PlayedTask:
    """One task of the night: what each instance ended as, and the command (when it ran)."""

    task: str
    document: str
    kinds: dict[str, str]
    """instance id -> outcome kind"""
    outcomes: dict[str, Outcome]
    parameters: dict[str, list[str]]
    start: datetime
    end: datetime
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
class Night:
    scenario: Scenario
    stack: Stack
    hosts: list[Host]
    window: simulator.Window
    window_execution_id: str
    window_status: str
    window_status_details: str
    start: datetime
    end: datetime
    tasks: dict[str, PlayedTask]
    offline: list[str]
    events: list[dict[str, Any]] = field(default_factory=list)

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


def _uuid(scenario: Scenario, *parts: object) -> str:
    return str(uuid.UUID(int=outputs.seeded(scenario.seed, *parts).getrandbits(128), version=4))


def create_fleet(scenario: Scenario, clients: Clients) -> list[Host]:
    """EC2 instances (Name and Patch Group tags) and hybrid nodes, in the scenario's order. A macOS
    group is EC2 Mac instances (mac1.metal on moto's image; moto keeps no dedicated hosts): the
    stand-in reports them as PlatformType MacOS, as SSM does from the agent (sw_vers)."""
    hosts: list[Host] = []
    for group in scenario.fleet:
        width = max(2, len(str(group.count)))
        names = [f"{group.name_prefix}-{n:0{width}d}" for n in range(1, group.count + 1)]
        if group.managed:
            ids = [
                _register_node(scenario, name, group.platform, len(hosts) + n, patch_group=group.patch_group)
                for n, name in enumerate(names)
            ]
        else:
            reservation = clients.ec2.run_instances(
                ImageId=WINDOWS_AMI if group.platform == WINDOWS else LINUX_AMI,
                MinCount=group.count,
                MaxCount=group.count,
                InstanceType="mac1.metal" if group.platform == MACOS else "t3.medium",
                TagSpecifications=[
                    {"ResourceType": "instance", "Tags": [{"Key": "Patch Group", "Value": group.patch_group}]}
                ],
            )
            ids = [i["InstanceId"] for i in reservation["Instances"]]
            for instance_id, name in zip(ids, names, strict=True):
                clients.ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "Name", "Value": name}])
                if group.platform == MACOS:
                    standin.set_instance_information(
                        ACCOUNT,
                        scenario.region,
                        instance_id,
                        platform_type="MacOS",
                        platform_name=MACOS_PLATFORM[0],
                        platform_version=MACOS_PLATFORM[1],
                    )
        for instance_id, name in zip(ids, names, strict=True):
            hosts.append(
                Host.of(
                    len(hosts), instance_id, name, group.platform, seed=scenario.seed, region=scenario.region
                )
            )
    return hosts


def _register_node(
    scenario: Scenario, name: str, platform: str, index: int, *, patch_group: str, online: bool = True
) -> str:
    node_id = "mi-" + f"{outputs.seeded(scenario.seed, 'node', index).getrandbits(68):017x}"[:17]
    windows = platform == WINDOWS
    return standin.register_managed_instance(
        ACCOUNT,
        scenario.region,
        node_id,
        name=name,
        platform_type="Windows" if windows else "Linux",
        platform_name="Microsoft Windows Server 2022 Datacenter" if windows else "Amazon Linux",
        platform_version="10.0.20348" if windows else "2",
        ip_address=f"192.168.{10 + index // 250}.{10 + index % 250}",
        ping_status="Online" if online else "ConnectionLost",
        tags={"Name": name, "Patch Group": patch_group},
    )


def window_targets(scenario: Scenario, hosts: Sequence[Host]) -> list[Host]:
    """The instances the window's target (tag Patch Group = PATCH_GROUP) resolves to."""
    groups = [group for group in scenario.fleet for _ in range(group.count)]
    return [host for host, group in zip(hosts, groups, strict=True) if group.patch_group == PATCH_GROUP]


def allocate(scenario: Scenario, hosts: Sequence[Host], task: str) -> dict[str, OutcomeCount]:
    """Which instance ends `task` as which kind: deterministic for the seed. Sticky kinds
    (a stopped instance) take the same instances in every task; the rest are spread at random;
    every instance not listed succeeds."""
    fleet_order = list(range(len(hosts)))
    outputs.seeded(scenario.seed, "fleet").shuffle(fleet_order)
    task_order = list(range(len(hosts)))
    outputs.seeded(scenario.seed, "allocate", task).shuffle(task_order)
    entries = sorted(scenario.plan(task).outcomes, key=lambda e: e.kind not in STICKY_KINDS)
    chosen: dict[str, OutcomeCount] = {}
    for entry in entries:
        platforms = (entry.platform,) if entry.platform else outputs.KINDS[entry.kind].platforms
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
) -> dict[str, PlayedTask]:
    """How every instance the window targets (`hosts`) ends each task (allocated kinds, built by
    local.outputs), not yet played."""
    spans = {
        PATCH: (start + timedelta(seconds=4), start + timedelta(minutes=52)),
        HEALTHCHECK: (start + timedelta(minutes=53), end - timedelta(seconds=6)),
    }
    tasks: dict[str, PlayedTask] = {}
    for task in TASKS:
        context = replace(
            task_context(scenario, task, _uuid(scenario, "command", task), spans[task][0]),
            snapshot_id=execution_id,
        )
        chosen = allocate(scenario, hosts, task)
        kinds = {
            h.instance_id: chosen[h.instance_id].kind
            if h.instance_id in chosen
            else outputs.default_kind(task, h.platform)
            for h in hosts
        }
        played_outcomes = {}
        for host in hosts:
            entry = chosen.get(host.instance_id)
            size_mb = entry.size_mb if entry else None
            outcome = outputs.outcome(kinds[host.instance_id], host, context, size_mb=size_mb)
            if entry is not None and entry.logs_reach_s3 is not None:
                outcome = replace(outcome, logs_reach_s3=entry.logs_reach_s3)
            played_outcomes[host.instance_id] = outcome
        tasks[task] = PlayedTask(
            task=task,
            document=PATCH_DOCUMENT if task == PATCH else stack.healthcheck_document,
            kinds=kinds,
            outcomes=played_outcomes,
            parameters=_task_parameters(scenario, stack, task, execution_id),
            start=spans[task][0],
            end=spans[task][1],
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
        played.command = simulator.play_command(
            ssm=clients.ssm,
            s3=clients.s3,
            region=scenario.region,
            document_name=played.document,
            outcomes=played.outcomes,
            bucket=stack.bucket,
            prefix=LOG_PREFIX,
            parameters=played.parameters,
            comment=f"{scenario.window.name} {task}",
            command_id=_uuid(scenario, "command", task),
            finished=played.end,
            max_concurrency=scenario.window.max_concurrency,
            max_errors=scenario.window.max_errors,
            timeout_seconds=DELIVERY_TIMEOUT_SECONDS[task],
        )
        # The command ends as the stand-in reports it (ListCommands), and its final event says so.
        status, details = simulator.reported_status(clients.ssm, played.command.command_id)
        played.command.status = status
        played.command_status = simulator.final_event_status(
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


def play_night(scenario: Scenario, clients: Clients, stack: Stack, *, end: datetime | None = None) -> Night:
    """Play the scenario: fleet, window, both tasks' commands with their output in S3, the window
    execution, and every EventBridge event of the night (in the order AWS would emit them)."""
    end = (end or datetime.now(UTC)).replace(microsecond=0)
    start = end - timedelta(minutes=75)
    hosts = create_fleet(scenario, clients)
    plan = scenario.standin
    standin.set_command_status_rules(
        ACCOUNT,
        scenario.region,
        incomplete_status=plan.incomplete_status,
        delivery_timeouts_count=plan.delivery_timeouts_count,
    )
    window = simulator.create_window(
        ssm=clients.ssm,
        region=scenario.region,
        name=scenario.window.name,
        healthcheck_document=stack.healthcheck_document,
        max_errors=scenario.window.max_errors,
        max_concurrency=scenario.window.max_concurrency,
        cutoff_behavior=scenario.window.cutoff_behavior,
        target_tag=("Patch Group", PATCH_GROUP),
    )
    execution_id = _uuid(scenario, "window-execution")
    targets = window_targets(scenario, hosts)
    tasks = plan_tasks(scenario, stack, targets, start=start, end=end, execution_id=execution_id)
    offline = _take_offline(scenario, clients, hosts, tasks)
    stopped_by = run_tasks(scenario, clients, stack, tasks)
    ran = [t for t in tasks.values() if t.task_status != "NOT_RUN"]
    if stopped_by == "cutoff":
        status, details = "TIMED_OUT", ""
    elif any(t.task_status != "SUCCESS" for t in ran):
        status, details = "FAILED", "One or more tasks in the orchestration failed."
    else:
        status, details = "SUCCESS", ""
    simulator.play_window_execution(
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
    )
    night.events = night_events(night)
    return night


def _take_offline(
    scenario: Scenario, clients: Clients, hosts: Sequence[Host], tasks: Mapping[str, PlayedTask]
) -> list[str]:
    """Instances that never pick a command up are stopped (EC2) or lost their connection (mi-)."""
    offline = [
        h.instance_id
        for h in hosts
        if any(t.kinds.get(h.instance_id) == "delivery-timed-out" for t in tasks.values())
    ]
    ec2_ids = [i for i in offline if i.startswith("i-")]
    if ec2_ids:
        clients.ec2.stop_instances(InstanceIds=ec2_ids)
    for host in hosts:
        if host.instance_id in offline and host.instance_id.startswith("mi-"):
            _register_node(
                scenario, host.name, host.platform, host.index, patch_group=PATCH_GROUP, online=False
            )
    return offline


def night_events(night: Night) -> list[dict[str, Any]]:
    """Every aws.ssm event of the night, in time order: the window and its tasks, each command
    and each of its invocations (most of them match no rule of the stack)."""
    region = night.scenario.region
    window_id = night.window.window_id
    execution = night.window_execution_id
    timed: list[tuple[datetime, dict[str, Any]]] = [
        (
            night.start,
            simulator.window_event(
                window_id=window_id,
                window_execution_id=execution,
                status="IN_PROGRESS",
                region=region,
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
                        simulator.window_task_event(
                            window_id=window_id,
                            window_execution_id=execution,
                            task_execution_id=played.task_execution_id,
                            status=status,
                            region=region,
                            start=played.start,
                            end=None if status == "IN_PROGRESS" else played.end,
                        ),
                    )
                )
        command = played.command
        if command is None:
            continue
        requested = played.start + timedelta(seconds=1)
        timed.append(
            (
                requested,
                simulator.command_event(
                    command,
                    region=region,
                    status="InProgress",
                    requested=requested,
                    time=requested,
                    parameters=played.parameters,
                ),
            )
        )
        rng = outputs.seeded(night.scenario.seed, "event-times", played.task)
        span = (played.end - requested).total_seconds()
        for instance_id, outcome in played.outcomes.items():
            moment = requested + timedelta(seconds=rng.uniform(0.2, 0.98) * span)
            timed.append(
                (
                    moment,
                    simulator.invocation_event(
                        command_id=command.command_id,
                        document_name=command.document_name,
                        instance_id=instance_id,
                        status=outcome.status,
                        region=region,
                        requested=requested,
                        time=moment,
                    ),
                )
            )
        timed.append(
            (
                played.end,
                simulator.command_event(
                    command,
                    region=region,
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
            simulator.window_event(
                window_id=window_id,
                window_execution_id=execution,
                status=night.window_status,
                region=region,
                start=night.start,
                end=night.end,
            ),
        )
    )
    return [event for _, event in sorted(timed, key=lambda pair: pair[0])]


# --------------------------------------------------------------------------- EventBridge


@dataclass(frozen=True)
class Rule:
    function: str
    pattern: Mapping[str, Any]


def stack_rules(stack: Stack, window_id: str) -> tuple[Rule, ...]:
    """The stack's two EventBridge rules as template.yaml writes them (defaults: the window's two
    documents only; every end state, the functions deciding what to tell)."""
    return (
        Rule(
            COMMAND_FUNCTION,
            {
                "source": ["aws.ssm"],
                "detail-type": ["EC2 Command Status-change Notification"],
                "detail": {
                    "status": [{"anything-but": ["Pending", "InProgress", "Delayed", "Cancelling"]}],
                    "document-name": [PATCH_DOCUMENT, stack.healthcheck_document],
                },
            },
        ),
        Rule(
            WINDOW_FUNCTION,
            {
                "source": ["aws.ssm"],
                "detail-type": ["Maintenance Window Execution State-change Notification"],
                "detail": {
                    "window-id": [window_id],
                    "status": [{"anything-but": ["PENDING", "IN_PROGRESS", "CANCELLING"]}],
                },
            },
        ),
    )


def _value_matches(expected: Any, value: Any) -> bool:
    """One element of a pattern's list: an exact value, or {"anything-but": [values]} (EventBridge
    user guide, "Content filtering": anything-but matches any value not listed)."""
    if isinstance(expected, Mapping):
        (operator, operand), *more = expected.items()
        if operator != "anything-but" or more:
            raise ValueError(f"pattern operator not modelled: {expected}")
        return value is not None and value not in operand
    return bool(value == expected)


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """EventBridge matching for the patterns the stack uses: nested objects, lists of exact values
    and anything-but."""
    for key, expected in pattern.items():
        value = event.get(key)
        if isinstance(expected, Mapping):
            if not isinstance(value, Mapping) or not matches(expected, value):
                return False
        elif not any(_value_matches(e, value) for e in expected):
            return False
    return True


def route(rules: Sequence[Rule], event: Mapping[str, Any]) -> str | None:
    return next((rule.function for rule in rules if matches(rule.pattern, event)), None)


@dataclass(frozen=True)
class Delivery:
    """One event as EventBridge delivered it, and what the function it reached returned."""

    position: int
    event: Mapping[str, Any]
    function: str | None
    redelivery: bool = False
    result: Mapping[str, Any] | None = None
    error: str | None = None
    seconds: float = 0.0


def delivery_order(night: Night, rules: Sequence[Rule]) -> tuple[list[dict[str, Any]], int | None]:
    """The night's events in the order EventBridge hands them over (not guaranteed: shuffled),
    with one event delivered a second time (at least once: same id), a command failure when the
    rules match one. Returns the stream and the position of the repeat."""
    rng = outputs.seeded(night.scenario.seed, "eventbridge")
    stream = list(night.events)
    rng.shuffle(stream)
    if not stream:
        return stream, None
    matched = [i for i, event in enumerate(stream) if route(rules, event)]
    commands = [i for i in matched if stream[i]["detail-type"].startswith("EC2 Command")]
    first = rng.choice(commands or matched or range(len(stream)))
    again = rng.randint(first + 1, len(stream))
    stream.insert(again, json.loads(json.dumps(stream[first])))
    return stream, again


class InvocationContext:
    """What Lambda passes a handler: names, a request id, and the remaining time."""

    def __init__(self, function_name: str, region: str, timeout_seconds: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(directory: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A function's app.handler, imported from its file the way Lambda does (fresh module)."""
    path = ROOT / "functions" / directory / "app.py"
    spec = importlib.util.spec_from_file_location(f"local_demo_{directory}_app", path)
    if spec is None or spec.loader is None:
        raise DemoError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] = module.handler
    return handler


def deliver(
    stream: Sequence[dict[str, Any]],
    rules: Sequence[Rule],
    handlers: Mapping[str, Callable[[dict[str, Any], Any], dict[str, Any]]],
    *,
    region: str,
    redelivered_at: int | None,
) -> list[Delivery]:
    """Hand each event its rule matches to that function's handler, one at a time."""
    deliveries = []
    for position, event in enumerate(stream):
        function = route(rules, event)
        if function is None:
            deliveries.append(Delivery(position, event, None, redelivery=position == redelivered_at))
            continue
        context = InvocationContext(
            f"instance-hygiene-{function}", region, FUNCTION_TIMEOUT_SECONDS[function]
        )
        started = time.perf_counter()
        result: Mapping[str, Any] | None = None
        error: str | None = None
        try:
            result = handlers[function](json.loads(json.dumps(event)), context)
        except Exception as raised:  # reported with its event; the demo then fails
            error = f"{type(raised).__name__}: {raised}\n{traceback.format_exc()}"
        deliveries.append(
            Delivery(
                position,
                event,
                function,
                redelivery=position == redelivered_at,
                result=result,
                error=error,
                seconds=time.perf_counter() - started,
            )
        )
    return deliveries


# --------------------------------------------------------------------------- what subscribers got


@dataclass(frozen=True)
class Notification:
    """One SNS message as each kind of subscriber receives it."""

    message_id: str
    subject: str
    email: str
    chat: str
    digest: str
    published: str
    """The MessageStructure=json body as published."""

    @property
    def kind(self) -> str:
        schema = str(json.loads(self.digest).get("schema", ""))
        return "window" if schema.startswith("instance-hygiene/window-report") else "command"

    @property
    def status(self) -> str:
        return str(json.loads(self.digest).get("status", ""))


def for_protocol(published: str, protocol: str) -> str:
    """The body a subscriber of `protocol` gets from a MessageStructure=json message: its own
    key, else "default" (the rule SNS applies, and moto with it)."""
    structure = json.loads(published)
    return str(structure.get(protocol) or structure["default"])


def received(clients: Clients, stack: Stack) -> list[Notification]:
    """Every message on the subscribed queue (the digest, in the SNS envelope), with the e-mail
    and chat bodies of the same message. The queue gets only the SQS body, so those two are
    taken from the stand-in's record of the published message (moto, in this process)."""
    published = {
        message_id: message
        for message_id, message, *_ in sns_backends[ACCOUNT][stack.region]
        .topics[stack.topic_arn]
        .sent_notifications
    }
    notifications: list[Notification] = []
    while True:
        batch = clients.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not batch:
            return notifications
        for message in batch:
            envelope = json.loads(message["Body"])
            body = published[envelope["MessageId"]]
            notifications.append(
                Notification(
                    message_id=envelope["MessageId"],
                    subject=envelope.get("Subject", ""),
                    email=for_protocol(body, "email"),
                    chat=for_protocol(body, "https"),
                    digest=envelope["Message"],
                    published=body,
                )
            )
            clients.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])


# --------------------------------------------------------------------------- the run


@dataclass
class Result:
    """Everything a run produced, for printing, saving and tests."""

    night: Night
    deliveries: list[Delivery]
    notifications: list[Notification]
    rules: tuple[Rule, ...]
    seconds: float = 0.0
    out: Path | None = None
    folders: list[Path] = field(default_factory=list)

    @property
    def errors(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.error]

    @property
    def invoked(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.function]

    def expected_notifications(self) -> set[tuple[str, str]]:
        """One per (command, status) and (window execution, status) the rules matched whose truth,
        as the night played it, is worth telling: a command that did not succeed on every
        instance, a window execution that did not succeed or ran a task on no instance."""
        keys = set()
        for delivery in self.invoked:
            detail = delivery.event["detail"]
            identity = detail.get("command-id") or detail.get("window-execution-id")
            if self.night.worth_telling(delivery.event):
                keys.add((str(identity), str(detail["status"])))
        return keys


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration; put back the previous environment after."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _reset(url: str) -> None:
    """Empty every moto backend of this process (moto's own reset endpoint)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 - our 127.0.0.1
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    with direct.open(request, timeout=30):
        pass


def _seed(url: str, seed: int) -> None:
    """Seed moto's ids (instances, commands, executions) so one scenario plays the same night
    byte for byte on every run (moto's own seed endpoint)."""
    request = urllib.request.Request(f"{url}/moto-api/seed?a={seed}", method="POST")  # noqa: S310 - our 127.0.0.1
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    with direct.open(request, timeout=30):
        pass


def run(scenario: Scenario) -> Result:
    """Play the scenario on a fresh stand-in and deliver its events to the real handlers."""
    with environment({"AWS_DEFAULT_REGION": scenario.region}), running() as endpoint:
        _reset(endpoint.url)
        _seed(endpoint.url, scenario.seed)
        try:
            clients = Clients.create(scenario.region)
            stack = provision(clients, region=scenario.region, seed=scenario.seed)
            night = play_night(scenario, clients, stack)
            rules = stack_rules(stack, night.window.window_id)
            stream, again = delivery_order(night, rules)
            with environment(stack.function_environment()):
                handlers = {name: load_handler(directory) for name, directory in FUNCTION_DIRECTORY.items()}
                deliveries = deliver(stream, rules, handlers, region=scenario.region, redelivered_at=again)
            notifications = received(clients, stack)
        finally:
            _reset(endpoint.url)
    return Result(night, deliveries, notifications, rules)


def check(result: Result) -> None:
    """Fail loudly when the night did not end in exactly one notification per failure."""
    if result.errors:
        first = result.errors[0]
        detail = first.event["detail"]
        raise DemoError(
            f"{first.function} raised on event {first.event['id']} ({first.event['detail-type']}, "
            f"{detail.get('status')}): {first.error}"
        )
    expected = result.expected_notifications()
    if len(result.notifications) != len(expected):
        raise DemoError(
            f"expected {len(expected)} notification(s), one per failed command and window execution, "
            f"got {len(result.notifications)}"
        )


# --------------------------------------------------------------------------- saving and printing


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80]


def _folder_name(number: int, notification: Notification) -> str:
    digest = json.loads(notification.digest)
    if notification.kind == "window":
        what = f"window-{digest.get('window_name') or digest.get('window_id', '')}"
    else:
        what = f"command-{digest.get('document_name', '')}"
    return f"{number:02d}-{_slug(what)}-{_slug(notification.status.lower())}"


def _clear(out: Path) -> None:
    """Remove what an earlier run saved here (only our own files and folders)."""
    for name in ("summary.json", "events.json"):
        (out / name).unlink(missing_ok=True)
    for folder in out.glob("[0-9][0-9]-*"):
        if folder.is_dir() and (folder / "subject.txt").exists():
            shutil.rmtree(folder)


def _pretty(text: str) -> str:
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def summary(result: Result) -> dict[str, Any]:
    night = result.night
    platforms = Counter(h.platform for h in night.hosts)
    redelivered = [d for d in result.deliveries if d.redelivery]
    return {
        "scenario": night.scenario.name,
        "description": night.scenario.description,
        "seconds": round(result.seconds, 2),
        "fleet": {
            "instances": len(night.hosts),
            "by_platform": dict(platforms),
            "managed": sum(h.instance_id.startswith("mi-") for h in night.hosts),
            "offline": night.offline,
            "targeted": night.scenario.targeted,
        },
        "standin": asdict(night.scenario.standin),
        "stack": {
            "bucket": night.stack.bucket,
            "topic": night.stack.topic_arn,
            "healthcheck_document": night.stack.healthcheck_document,
        },
        "window": {
            "id": night.window.window_id,
            "name": night.scenario.window.name,
            "max_errors": night.scenario.window.max_errors,
            "max_errors_why": night.scenario.window.max_errors_why,
            "cutoff_behavior": night.scenario.window.cutoff_behavior,
            "execution_id": night.window_execution_id,
            "status": night.window_status,
            "tasks": {
                t.task: {
                    "status": t.task_status,
                    "status_details": t.task_status_details,
                    "command_id": t.command.command_id if t.command else None,
                }
                for t in night.tasks.values()
            },
        },
        "commands": [
            {
                "task": t.task,
                "command_id": t.command.command_id,
                "document": t.document,
                "status": t.command_status,
                "invocations": dict(t.statuses()),
                "kinds": dict(Counter(t.kinds.values())),
            }
            for t in night.commands()
            if t.command is not None
        ],
        "events": {
            "emitted": len(night.events),
            "delivered": len(result.deliveries),
            "matched": len(result.invoked),
            "redelivered": [d.event["id"] for d in redelivered],
            "errors": [d.error for d in result.errors],
        },
        "notifications": [
            {"folder": folder.name, "subject": n.subject, "kind": n.kind, "status": n.status}
            for n, folder in zip(result.notifications, result.folders, strict=True)
        ],
    }


def save(result: Result, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    result.out = out
    result.folders = []
    for number, notification in enumerate(result.notifications, start=1):
        folder = out / _folder_name(number, notification)
        folder.mkdir()
        (folder / "subject.txt").write_text(notification.subject + "\n")
        (folder / "email.txt").write_text(notification.email)
        (folder / "chat.json").write_text(_pretty(notification.chat))
        (folder / "digest.json").write_text(_pretty(notification.digest))
        (folder / "sns-message.json").write_text(notification.published)
        result.folders.append(folder)
    events = [
        {
            "position": d.position,
            "redelivery": d.redelivery,
            "function": d.function,
            "seconds": round(d.seconds, 3),
            "result": d.result,
            "error": d.error,
            "event": d.event,
        }
        for d in result.deliveries
    ]
    (out / "events.json").write_text(json.dumps(events, indent=1, default=str) + "\n")
    (out / "summary.json").write_text(json.dumps(summary(result), indent=2) + "\n")


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _command_line(task: PlayedTask) -> str:
    statuses = task.statuses()
    failed = len(task.outcomes) - statuses["Success"]
    listed = ", ".join(
        f"{kind} {n}" for kind, n in Counter(task.kinds.values()).most_common() if kind != "success"
    )
    return f"{task.document} {task.command_status}: {failed} of {len(task.outcomes)} did not succeed" + (
        f" ({listed})" if listed else ""
    )


def _stage_lines(night: Night) -> list[str]:
    """The fleet, the window, what the stand-in was told to assume, and how each task ended."""
    scenario, hosts = night.scenario, night.hosts
    platforms = Counter(h.platform for h in hosts)
    managed = sum(h.instance_id.startswith("mi-") for h in hosts)
    lines = [
        f"fleet: {len(hosts)} instances ({platforms[LINUX]} Linux, {platforms[WINDOWS]} Windows"
        + (f", {platforms[MACOS]} macOS (EC2 Mac)" if platforms[MACOS] else "")
        + (f"; {managed} hybrid mi- nodes" if managed else "")
        + (f"; {len(night.offline)} stopped" if night.offline else "")
        + ")"
    ]
    if scenario.targeted < scenario.size:
        tags = sorted({g.patch_group for g in scenario.fleet if g.patch_group != PATCH_GROUP})
        lines.append(
            f"window target tag:Patch Group={PATCH_GROUP} matches {scenario.targeted} of them "
            f"(the others are tagged {', '.join(tags)})"
        )
    window = scenario.window
    lines.append(
        f"window {window.name}: MaxErrors {window.max_errors}, CutoffBehavior {window.cutoff_behavior}"
        + (f" ({window.max_errors_why})" if window.max_errors_why else "")
    )
    assumed = scenario.standin
    if assumed != StandinPlan():
        lines.append(
            "stand-in, UNVERIFIED AWS behaviour as this scenario assumes it: an Incomplete command's "
            f"Status is {assumed.incomplete_status}; delivery timeouts "
            f"{'count' if assumed.delivery_timeouts_count else 'do not count'} against MaxErrors; "
            f"a command's final event carries its {assumed.command_event_status}"
        )
    for task in night.tasks.values():
        if task.command is not None:
            lines.append(f"{task.task:<11} {_command_line(task)}")
        elif task.task in window.not_run:
            lines.append(f"{task.task:<11} not run by this execution (window.not_run)")
        elif task.task_status == "NOT_RUN":
            lines.append(f"{task.task:<11} never started")
        else:
            lines.append(f"{task.task:<11} ran on no instance: the target matched none, no command was sent")
    return lines


def _redelivery_outcome(delivery: Delivery) -> str:
    if not delivery.function:
        return "no rule matches it, nothing ran"
    if delivery.result and delivery.result.get("notified") is False:
        return f"{delivery.function} found nothing to tell again, no message"
    return f"{delivery.function} returned the stored outcome, no second message"


def report(result: Result, *, detail: str = "text", write: Callable[[str], object] = print) -> None:
    """The console story: what was played, what EventBridge delivered, each notification."""
    night = result.night
    scenario = night.scenario
    bar = "=" * 100
    write(f'Instance hygiene demo: scenario "{scenario.name}" on the offline stand-in (nothing reaches AWS)')
    if scenario.description:
        write(f"  {scenario.description}")
    for line in _stage_lines(night):
        write(f"  {line}")
    tasks = ", ".join(f"{t.task} {t.task_status}" for t in night.tasks.values())
    write(f"  window execution {night.window_status} ({tasks})")
    invoked = Counter(d.function for d in result.invoked)
    write(
        f"  EventBridge: {len(night.events)} aws.ssm events in shuffled order"
        f"{', one of them delivered twice' if any(d.redelivery for d in result.deliveries) else ''}; "
        f"the stack's rules matched {len(result.invoked)}: "
        + (", ".join(f"{name} x{n}" for name, n in sorted(invoked.items())) or "no function ran")
    )
    for delivery in result.deliveries:
        if delivery.redelivery:
            what = f"{delivery.event['detail-type']} {delivery.event['detail']['status']}"
            outcome = _redelivery_outcome(delivery)
            write(f"  redelivered {what} (same id {delivery.event['id'][:8]}...): {outcome}")
    if not result.notifications:
        write("")
        write(
            "No failures: every invocation succeeded and the window execution ended "
            f"{night.window_status} with every task run on its targets. The functions checked each "
            "end state against the API (the commands' counts, the window's tasks), found nothing "
            "to tell, and no notification was sent."
        )
    else:
        write(
            f"  {len(result.notifications)} notification(s) on the topic; each as the e-mail "
            "subscriber reads it:"
        )
    for number, (notification, folder) in enumerate(
        zip(result.notifications, result.folders, strict=True), start=1
    ):
        write("")
        write(bar)
        write(f"[{number}/{len(result.notifications)}] Subject: {notification.subject}")
        write(bar)
        write(notification.email.rstrip("\n"))
        write("")
        write(
            f"  -> other renderings: chat (HTTPS, Amazon Q Developer) {_shown(folder / 'chat.json')}; "
            f"digest (SQS, Lambda, HTTP: default) {_shown(folder / 'digest.json')}"
        )
        if detail == "all":
            write("")
            write("  chat (https):")
            write(_pretty(notification.chat).rstrip("\n"))
            write("  digest (sqs / default):")
            write(_pretty(notification.digest).rstrip("\n"))
    write("")
    if result.out is not None:
        saved = "summary.json, events.json" + (", one folder per notification" if result.folders else "")
        write(f"Saved to {_shown(result.out)}/ ({saved})")
    write(f"Done in {result.seconds:.1f} s.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.demo",
        description="Play a maintenance-window night on the offline stand-in and show the notifications.",
    )
    parser.add_argument(
        "--scenario",
        default="showcase",
        help=f"a name in local/scenarios ({', '.join(scenario_names())}) or a .json file (default showcase)",
    )
    parser.add_argument("--out", type=Path, help="where to save the renderings (default out/demo/<scenario>)")
    parser.add_argument(
        "--format",
        choices=("text", "all"),
        default="text",
        help="text: the e-mail of each message; all: also its chat and digest JSON",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        scenario = load_scenario(args.scenario)
        result = run(scenario)
        result.seconds = time.perf_counter() - started
        save(result, args.out or ROOT / "out" / "demo" / scenario.name)
        check(result)
    except (ScenarioError, DemoError) as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # the stand-in or the stage itself broke: say what, then how
        traceback.print_exc()
        print(f"demo failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    report(result, detail=args.format)
    return 0


if __name__ == "__main__":
    sys.exit(main())
