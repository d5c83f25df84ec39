"""Issue 16, across an AWS Organization: what reading a member account through its role costs per
message, measured through the real handlers; `org_model` scales it to an Organization.

The accounts are `org_member`'s: the central account (the bench's stack, the Organization's
management account) and one member account in the same region, each with the same fleet (500
instances, 10% failing in the bench's fixed mix). The member plays two AWS-RunPatchBaseline
commands, each the patch task of a FAILED execution of its window.

Each round, interleaved (the order alternates): the command function (a) in single role on the
central account's own command (today's path), (b) in central role on one of the member's commands
with no member role in the container yet ("cold role": the member clients, GetCallerIdentity and
AssumeRole are made again), (c) right after, on the member's other command with the role cached
("warm role"); then the window function on a FAILED window execution, single and central (cold:
one window message per account per night). The container itself is warm throughout: one unmeasured
invocation of each variant first (imports, the function's own clients, the service models the
member clients parse once per container). Idempotency and history records are deleted before each
invocation: every message does the whole work, its failures new to the history.

Both functions sign as a role session named as CloudFormation names the role SAM makes for the
command function (local.demo.organization.function_sessions), with STS's role trust enforced
(local.standin.sts.trust_enforced): the member role's trust policy, as template.yaml writes it
(account, aws:PrincipalArn, ExternalId, aws:PrincipalOrgID), is what lets them in. One process
holds one client cache, so the window function signs as the command function's session here; the
trust policy admits either.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from bench import delivery, emulator, org_member, scenarios
from bench.aws_model import Usage
from bench.calls import Call
from bench.measure import Run, invoke
from bench.stack import ACCOUNT, BUCKET, HISTORY, REGION, RESOURCES, WINDOW_ID, Stack, lambda_context
from instance_hygiene.aws import clients
from local.demo.organization import FunctionContainers, function_sessions
from local.demo.run import environment
from local.lambda_env import (
    COMMAND_FUNCTION,
    OFF_AWS,
    WINDOW_FUNCTION,
    LambdaContext,
    function_environment,
    function_spec,
    load_handler_module,
)
from local.stack import Clients
from local.standin import sts as standin_sts
from local.template import Deployment

INSTANCES = 500
FAILING = 0.1
QUICK_ROUNDS, FULL_ROUNDS = 3, 15
COMMAND_SINGLE = "command, single role"
COMMAND_COLD = "command, central, cold role"
COMMAND_WARM = "command, central, warm role"
WINDOW_SINGLE = "window, single role"
WINDOW_CENTRAL = "window, central, cold role"
VARIANTS = (COMMAND_SINGLE, COMMAND_COLD, COMMAND_WARM, WINDOW_SINGLE, WINDOW_CENTRAL)
READING_SERVICES = frozenset({"ssm", "ec2", "iam", "organizations"})
"""What the function reads in the event's account (with the member role's credentials in central
role); S3 reads of the command output are counted apart (`Variant.log_calls`)."""


@dataclass
class Variant:
    """One way of handling one message, over the rounds: one run per round, the first run's calls."""

    function: str
    memory_mb: int
    walls: list[float] = field(default_factory=list)
    compute: list[float] = field(default_factory=list)
    """Per run: time with no AWS call in flight (the function's own computing, SDK included)."""
    in_calls: list[float] = field(default_factory=list)
    operations: dict[str, int] = field(default_factory=dict)
    reading_calls: int = 0
    """Calls of the first run that read the event's account (SSM, EC2, IAM, Organizations, S3 logs):
    the member role's in central role."""
    log_calls: dict[str, int] = field(default_factory=dict)
    """S3 calls on the command output (ListObjectsV2, GetObject), by operation."""
    log_read_bytes: int = 0
    """Bytes those calls received (listings and objects)."""
    clients_created: list[int] = field(default_factory=list)
    get_bytes: int = 0
    get_concurrency: int = 0
    publish_bytes: list[int] = field(default_factory=list)
    publishes: list[int] = field(default_factory=list)
    """Per run: SNS Publish calls (one message per failed command or window execution)."""
    log_bytes: int = 0
    errors: list[str] = field(default_factory=list)
    differing: int = 0
    """Runs whose calls by operation differ from the first run's."""

    def add(self, run: Run, log_bucket: str) -> None:
        ops = dict(run.by_operation)
        if not self.walls:
            self.operations = ops
            logs = [c for c in run.calls if _is_log_read(c, log_bucket)]
            self.log_calls = dict(Counter(c.operation for c in logs))
            self.log_read_bytes = sum(c.bytes_in for c in logs)
            self.reading_calls = len(logs) + sum(1 for c in run.calls if c.service in READING_SERVICES)
            self.get_bytes = run.get_bytes
            self.get_concurrency = run.get_concurrency
            self.publish_bytes = [delivery.sns_bytes(p) for p in run.published]
            self.log_bytes = run.log_bytes
        elif ops != self.operations:
            self.differing += 1
        self.walls.append(run.wall)
        self.compute.append(run.outside)
        self.in_calls.append(run.inside)
        self.clients_created.append(len(run.recording.clients_created))
        self.publishes.append(len(run.published))
        if run.error:
            self.errors.append(run.error)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls) if self.walls else float("nan")

    @property
    def compute_median(self) -> float:
        return statistics.median(self.compute) if self.compute else float("nan")

    def usage(self) -> Usage:
        return Usage(
            operations=self.operations,
            get_bytes=self.get_bytes,
            publish_bytes=tuple(self.publish_bytes),
            emails=1,
            compute_seconds=self.compute_median,
            read_concurrency=max(1, self.get_concurrency),
            log_bytes=self.log_bytes,
        )


@dataclass
class OrgBench:
    """Issue 16's measurements: the scenario, each variant over the rounds, and the trust checks."""

    quick: bool
    rounds: int
    instances: int
    failed: int
    kinds: dict[str, int]
    objects: int
    """Objects the member's instances wrote for one command (every stream of every instance)."""
    log_bytes: int
    """Their bytes: what one command writes to the log bucket."""
    central_objects: int
    central_log_bytes: int
    """The same for the central account's command (single role): it should be the same fleet."""
    region: str
    variants: dict[str, Variant] = field(default_factory=dict)
    assume_role_allowed: int = 0
    assume_role_denied: int = 0
    trust_reasons: list[str] = field(default_factory=list)
    setup_seconds: float = 0.0

    def ratio(self, numerator: str, denominator: str) -> float:
        """Median of per-round ratios of wall times."""
        pairs = zip(self.variants[numerator].walls, self.variants[denominator].walls, strict=False)
        ratios = [a / b for a, b in pairs if b > 0]
        return statistics.median(ratios) if ratios else float("nan")


def _is_log_read(call: Call, log_bucket: str) -> bool:
    where = str(call.params.get("Key") or call.params.get("Prefix") or "")
    return (
        call.service == "s3"
        and call.params.get("Bucket") == log_bucket
        and where.startswith(scenarios.PREFIX)
    )


def forget_history(stack: Stack) -> None:
    """Delete every history record, so that each message meets its failures as new (the night's
    history writes, not the steady state of the same instances failing round after round)."""
    pages = stack.dynamodb.get_paginator("scan").paginate(TableName=HISTORY, ProjectionExpression="pk, sk")
    for page in pages:
        for item in page.get("Items", []):
            stack.dynamodb.delete_item(TableName=HISTORY, Key={"pk": item["pk"], "sk": item["sk"]})


def forget_member_roles() -> None:
    """The container as it is before its first message of a member account: no role session, no
    member clients or Organization, its own account not looked up (GetCallerIdentity, once per
    container)."""
    clients.forget_members()
    clients.caller_account.cache_clear()


@dataclass(frozen=True)
class Setting:
    """One function in one deployment role: its module, environment and context."""

    app: Any
    env: Mapping[str, str]
    context: Callable[[], LambdaContext]


def _window_context() -> LambdaContext:
    return LambdaContext.of(
        WINDOW_FUNCTION,
        Deployment(region=REGION, account=ACCOUNT),
        function_name=WINDOW_FUNCTION,
        aws_request_id="c0ffee00-0000-4000-8000-0000000org16",
    )


def _central(organization_id: str) -> Deployment:
    """The bench's stack deployed as the central stack (its name is what the member role trusts)."""
    return replace(RESOURCES, stack_name=Deployment().parameter("CentralStackName")).deployment(
        **org_member.central_parameters(organization_id)
    )


def _settings(organization_id: str) -> dict[str, Setting]:
    command = load_handler_module("command_failed")
    window = load_handler_module("window_failed")
    single = RESOURCES.deployment(window_id=WINDOW_ID)
    central = _central(organization_id)
    envs = {
        (function, role): function_environment(function, deployment, extra=OFF_AWS)
        for function in (COMMAND_FUNCTION, WINDOW_FUNCTION)
        for role, deployment in (("single", single), ("central", central))
    }
    return {
        COMMAND_SINGLE: Setting(command, envs[COMMAND_FUNCTION, "single"], lambda_context),
        COMMAND_COLD: Setting(command, envs[COMMAND_FUNCTION, "central"], lambda_context),
        COMMAND_WARM: Setting(command, envs[COMMAND_FUNCTION, "central"], lambda_context),
        WINDOW_SINGLE: Setting(window, envs[WINDOW_FUNCTION, "single"], _window_context),
        WINDOW_CENTRAL: Setting(window, envs[WINDOW_FUNCTION, "central"], _window_context),
    }


def _use(env: Mapping[str, str], every: frozenset[str]) -> None:
    """This function's environment alone (no variable of another left behind)."""
    for name in every:
        os.environ.pop(name, None)
    os.environ.update(env)


@contextmanager
def _signing_as_the_command_function(organization_id: str) -> Iterator[None]:
    """The command function's role session for every call the handlers make (module docstring)."""
    sessions = function_sessions(Clients.create(REGION), _central(organization_id), seed=org_member.SEED)
    containers = FunctionContainers(sessions)
    containers(COMMAND_FUNCTION)
    try:
        yield
    finally:
        containers.restore()
        clients.clear_cache()


def measure(quick: bool, say: Callable[..., None]) -> OrgBench:
    rounds = QUICK_ROUNDS if quick else FULL_ROUNDS
    started = time.perf_counter()
    with environment({}), emulator.in_process() as stack:
        fleet = scenarios.Fleet(stack)
        own = org_member.central_played(
            stack, scenarios.seed_fleet(stack, fleet, INSTANCES, FAILING), fleet.window.window_id
        )
        member = org_member.create_member(INSTANCES)
        first, second = (org_member.seed_member_command(member, FAILING) for _ in range(2))
        say(
            f"  org: central and member accounts, {INSTANCES:,} instances each, seeded in "
            f"{time.perf_counter() - started:.1f}s"
        )
        result = OrgBench(
            quick=quick,
            rounds=rounds,
            instances=INSTANCES,
            failed=first.failed,
            kinds=first.kinds,
            objects=first.objects,
            log_bytes=first.log_bytes,
            central_objects=own.objects,
            central_log_bytes=own.log_bytes,
            region=REGION,
        )
        settings = _settings(member.organization.id)
        every = frozenset(name for s in settings.values() for name in s.env)
        with _signing_as_the_command_function(member.organization.id), standin_sts.trust_enforced() as trust:
            run = _runner(stack, settings, every)
            for name, event in _round(0, own, first, second):  # warm: imports, own clients, models
                run(name, event)
            result.setup_seconds = time.perf_counter() - started
            for number in range(rounds):
                for name, event in _round(number, own, first, second):
                    variant = result.variants.setdefault(name, Variant(*_function(name)))
                    variant.add(run(name, event), BUCKET if "single" in name else member.stack.bucket)
                say(
                    f"    org round {number + 1}/{rounds}: "
                    + ", ".join(f"{name} {v.walls[-1]:.2f}s" for name, v in result.variants.items())
                )
        result.assume_role_allowed = sum(1 for d in trust.decisions if d.allowed)
        result.assume_role_denied = len(trust.denied)
        result.trust_reasons = sorted({d.reason for d in trust.decisions})
    return result


def _function(name: str) -> tuple[str, int]:
    """The variant's function (logical id) and its MemorySize in template.yaml."""
    function = WINDOW_FUNCTION if name.startswith("window") else COMMAND_FUNCTION
    return function, function_spec(function).memory_mb


def _runner(
    stack: Stack, settings: Mapping[str, Setting], every: frozenset[str]
) -> Callable[[str, dict[str, Any]], Run]:
    def run(name: str, event: dict[str, Any]) -> Run:
        setting = settings[name]
        _use(setting.env, every)
        if name in (COMMAND_COLD, WINDOW_CENTRAL):
            forget_member_roles()
        forget_history(stack)
        return invoke(lambda: setting.app.handler(dict(event), setting.context()), stack)

    return run


def _round(
    number: int, own: org_member.Played, first: org_member.Played, second: org_member.Played
) -> list[tuple[str, dict[str, Any]]]:
    """One round's messages in order: the member's commands swap between cold and warm, and single
    role goes first or last, so that no variant always follows the same one."""
    cold, warm = (first, second) if number % 2 == 0 else (second, first)
    central = [(COMMAND_COLD, cold.command_event), (COMMAND_WARM, warm.command_event)]
    commands = [(COMMAND_SINGLE, own.command_event), *central]
    if number % 2:
        commands = [*central, (COMMAND_SINGLE, own.command_event)]
    windows = [(WINDOW_SINGLE, own.window_event), (WINDOW_CENTRAL, first.window_event)]
    return commands + (windows if number % 2 == 0 else windows[::-1])
