"""The failed commands the bench measures: one huge log, or a fleet with a realistic failure mix.

Both are played with `local.fleet_sim.play_command` (the command, each instance's result in the
SSM stand-in, the EventBridge event). The output objects are then written in the agent's key
layout straight into moto (`bench.emulator.put_bytes` / `put_large`), which is what makes a
5,000-instance fleet or a 1 GiB log cheap to set up.

Every failure has a known cause line, so the bench can check whether a notification carries it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from moto.ec2.models import ec2_backends

from bench.emulator import put_bytes, put_large
from bench.stack import ACCOUNT, BUCKET, REGION, WINDOW_ID, Stack
from local.fleet_sim import (
    InstanceResult,
    PlayedCommand,
    Step,
    TaskRun,
    Window,
    command_event,
    create_window,
    play_command,
    play_window_execution,
    skipped,
)
from local.standin import ssm as standin

LOGS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "logs"
PREFIX = "ssm_output/"
DOCUMENT = "AWS-RunPatchBaseline"
COMMENT = "PatchWithHealthcheck patch"
SH, PS = "aws:runShellScript", "aws:runPowerShellScript"
LINUX_AMI = "ami-760aaa0f"
GET_COMMAND_INVOCATION_CHARS = 24_000
"""The API shows at most this much of a stream; the rest lives only in S3."""

KIB, MIB, GIB = 1024, 1024**2, 1024**3


def fixture(name: str) -> str:
    return (LOGS / name).read_text()


# --- what a failure looks like ---------------------------------------------------------------------


@dataclass(frozen=True)
class FailureKind:
    """One way an instance fails, with the line that says why."""

    name: str
    step: str
    exit_code: int
    stdout: bytes
    stderr: bytes = b""
    cause: tuple[str, ...] = ()
    """Lower-case fragments of the cause line: a notification "carries the cause" if it has one."""
    logs_reach_s3: bool = True
    failed: bool = True

    @property
    def status(self) -> str:
        return "Failed" if self.failed else "Success"

    def steps(self) -> tuple[Step, ...]:
        api_stdout = self.stdout[:GET_COMMAND_INVOCATION_CHARS].decode(errors="replace")
        api_stderr = self.stderr[:GET_COMMAND_INVOCATION_CHARS].decode(errors="replace")
        action = PS if self.step == "PatchWindows" else SH
        own = Step(
            self.step,
            action,
            status=self.status,
            response_code=self.exit_code,
            stdout=api_stdout,
            stderr=api_stderr,
        )
        return tuple(
            own if name == self.step else skipped(name, act, platform)
            for name, act, platform in (
                ("PatchLinux", SH, "Linux"),
                ("PatchWindows", PS, "Windows"),
                ("PatchMacOS", SH, "MacOS"),
            )
        )


def padded(lines: str, size: int, filler: str) -> bytes:
    """`lines` preceded by repeated `filler` up to `size` bytes (a long run that failed at the end)."""
    tail = lines.encode()
    unit = filler.encode()
    body = unit * max(0, (size - len(tail)) // len(unit) + 1)
    return body[: max(0, size - len(tail))] + tail


YUM_RETRY = "06/11/2024 02:00:17 root [INFO]: another process has acquired yum lock, waiting 2 s and retry.\n"
DOWNLOAD = (
    "06/11/2024 02:01:02 root [INFO]: Downloading openssl-libs-1.0.2k-24.amzn2.0.12.x86_64.rpm (1.5 MB)\n"
)


def fleet_kinds() -> tuple[FailureKind, ...]:
    """Ten slots: 5 yum lock (2 KiB), 2 no mirrors (40 KiB), 1 package conflict (256 KiB log, head
    and tail read), 1 Windows Update (stdout and stderr), 1 without S3 output (missing permission)."""
    yum = FailureKind(
        "yum lock",
        "PatchLinux",
        1,
        fixture("linux_yum_lock.stdout").encode(),
        cause=("yum.pid", "yum lock"),
    )
    mirrors = FailureKind(
        "no mirrors",
        "PatchLinux",
        1,
        padded(fixture("linux_no_mirrors.stdout"), 40 * KIB, DOWNLOAD),
        cause=("no more mirrors",),
    )
    conflict = FailureKind(
        "package conflict",
        "PatchLinux",
        1,
        padded(fixture("linux_reboot_with_failures.stdout"), 256 * KIB, DOWNLOAD),
        cause=("openssl-libs", "failed to install"),
    )
    windows = FailureKind(
        "windows update",
        "PatchWindows",
        -1,
        fixture("windows_update_search_failed.stdout").encode(),
        fixture("windows_update_search_failed.stderr").encode(),
        cause=("0x80240437",),
    )
    no_log = FailureKind(
        "no S3 log",
        "PatchLinux",
        1,
        fixture("linux_no_mirrors.stdout").encode(),
        cause=("no more mirrors",),
        logs_reach_s3=False,
    )
    return (yum, yum, yum, yum, yum, mirrors, mirrors, conflict, windows, no_log)


# --- long logs whose copies all differ (issue 11) ---------------------------------------------------

TOKEN = b"00000000"
"""An 8-character slot in every filler line: a copy of the log writes random hex into some."""
_HEADER_ROOM = 120
_FIXTURES = {
    "yum lock": "linux_yum_lock.stdout",
    "no mirrors": "linux_no_mirrors.stdout",
    "package conflict": "linux_reboot_with_failures.stdout",
    "windows update": "windows_update_search_failed.stdout",
}
_LINUX_HEADER = "06/11/2024 02:00:15 root [INFO]: Instance Id: {instance_id} ({name}), run {run}"
_WINDOWS_HEADER = "2024-06-11T02:00:15.0000000Z Instance Id: {instance_id} ({name}), run {run}"
_FILLERS = {
    "yum lock": "06/11/2024 02:00:17 root [INFO]: another process has acquired yum lock, waiting 2 s "
    "and retry (waiter {token}).\n",
    "no mirrors": "06/11/2024 02:01:02 root [INFO]: Downloading openssl-libs-1.0.2k-24.amzn2.0.12.x86_64.rpm "
    "(1.5 MB) from mirror {token}\n",
    "package conflict": "06/11/2024 02:01:02 root [INFO]: Downloading "
    "openssl-libs-1.0.2k-24.amzn2.0.12.x86_64.rpm (1.5 MB) from mirror {token}\n",
    "windows update": "2024-06-11T02:01:05.0000000Z Searching for updates: 2024-06 Cumulative Update "
    "for Windows Server 2019 (KB5039217), request {token}\n",
}


@dataclass(frozen=True)
class VariedLog:
    """A failure kind whose failing stdout is `size` bytes: an instance line first, then progress
    lines (no error word in them), then the kind's real log with its cause at the end. `copy()`
    makes an instance's own version: its id, name and a random run id in the first line, and a few
    random tokens in the progress lines, so no two copies are byte-identical."""

    kind: FailureKind
    header: str
    header_bytes: int
    slots: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.kind.name

    def copy(self, rng: random.Random, instance_id: str, name: str, tokens: int = 8) -> FailureKind:
        body = bytearray(self.kind.stdout)
        line = self.header.format(instance_id=instance_id, name=name, run=f"{rng.getrandbits(64):016x}")
        body[: self.header_bytes] = (
            line.encode()[: self.header_bytes - 1].ljust(self.header_bytes - 1) + b"\n"
        )
        for slot in rng.sample(self.slots, min(tokens, len(self.slots))):
            body[slot : slot + len(TOKEN)] = f"{rng.getrandbits(32):08x}".encode()
        return replace(self.kind, stdout=bytes(body))


def varied_log(kind: FailureKind, size: int) -> VariedLog:
    """`kind` (one of fleet_kinds()) with its real log extended to `size` bytes of stdout."""
    tail = fixture(_FIXTURES[kind.name]).encode()
    line = _FILLERS[kind.name].format(token=TOKEN.decode()).encode()
    count = max(0, (size - len(tail) - _HEADER_ROOM) // len(line))
    header_bytes = size - len(tail) - count * len(line)
    at = line.index(TOKEN)
    stdout = b" " * (header_bytes - 1) + b"\n" + line * count + tail
    header = _WINDOWS_HEADER if kind.step == "PatchWindows" else _LINUX_HEADER
    slots = tuple(header_bytes + n * len(line) + at for n in range(count))
    return VariedLog(replace(kind, stdout=stdout), header, header_bytes, slots)


def budget_kinds(size: int) -> tuple[VariedLog, ...]:
    """The fleet mix's kinds that reach S3 (yum lock, no mirrors, package conflict, Windows
    Update), each with `size` bytes of failing stdout (Windows Update keeps its short stderr)."""
    kinds = [k for k in dict.fromkeys(fleet_kinds()) if k.logs_reach_s3 and k.name in _FIXTURES]
    return tuple(varied_log(kind, size) for kind in kinds)


SUCCESS = FailureKind(
    "success",
    "PatchLinux",
    0,
    fixture("linux_install_success_with_summary.stdout").encode(),
    failed=False,
)


@dataclass(frozen=True)
class BigLog:
    """A yum lock that waited for hours: the run's start, one retry line repeated, the cause last."""

    kind: FailureKind
    head: bytes
    filler: bytes
    tail: bytes


def big_log(size: int) -> BigLog:
    lines = fixture("linux_yum_lock.stdout").splitlines(keepends=True)
    head, tail = "".join(lines[:14]), "".join(lines[-2:])
    api_view = (head + YUM_RETRY * (GET_COMMAND_INVOCATION_CHARS // len(YUM_RETRY) + 1)).encode()
    kind = FailureKind(
        f"yum lock, {size:,} B log",
        "PatchLinux",
        1,
        api_view[:GET_COMMAND_INVOCATION_CHARS],
        cause=("yum.pid", "yum lock"),
    )
    return BigLog(kind=kind, head=head.encode(), filler=YUM_RETRY.encode(), tail=tail.encode())


# --- what was seeded --------------------------------------------------------------------------------


@dataclass
class Seeded:
    """A played command and what the bench knows about each failed instance."""

    event: dict[str, Any]
    command_id: str
    instances: int
    failed: dict[str, FailureKind] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    log_bytes: int = 0
    objects: int = 0

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for kind in self.failed.values():
            counts[kind.name] = counts.get(kind.name, 0) + 1
        return counts


class Fleet:
    """EC2 instances named web-00001..., created on demand and reused by every scenario."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.ids: list[str] = []
        self.names: dict[str, str] = {}
        self._window: Window | None = None

    @property
    def window(self) -> Window:
        """The stack's window (WINDOW_ID), created on first use."""
        if self._window is None:
            self._window = create_window(
                ssm=self.stack.ssm,
                region=REGION,
                window_id=WINDOW_ID,
                healthcheck_document="AWS-RunShellScript",
            )
        return self._window

    def ensure(self, count: int) -> list[str]:
        backend = ec2_backends[ACCOUNT][REGION]
        while len(self.ids) < count:
            batch = min(1000, count - len(self.ids))
            reservation = self.stack.ec2.run_instances(ImageId=LINUX_AMI, MinCount=batch, MaxCount=batch)
            for instance in reservation["Instances"]:
                instance_id = instance["InstanceId"]
                name = f"web-{len(self.ids) + 1:05d}.prod.internal"
                backend.create_tags([instance_id], {"Name": name})
                self.ids.append(instance_id)
                self.names[instance_id] = name
        return self.ids[:count]


def _send(stack: Stack, fleet: Fleet, outcomes: dict[str, InstanceResult]) -> PlayedCommand:
    """AWS-RunPatchBaseline as the window's patch task sends it (SnapshotId: the execution's id),
    and that execution recorded: the function reads the window's name, time zone and history scope."""
    execution_id = str(uuid.uuid4())
    played = play_command(
        ssm=stack.ssm,
        s3=stack.s3,
        region=REGION,
        document_name=DOCUMENT,
        outcomes=outcomes,
        bucket=BUCKET,
        prefix=PREFIX,
        comment=COMMENT,
        parameters={"Operation": ["Install"], "SnapshotId": [execution_id]},
    )
    play_window_execution(
        region=REGION,
        window=fleet.window,
        status="FAILED",
        status_details="One or more tasks in the orchestration failed.",
        window_execution_id=execution_id,
        tasks=[TaskRun(fleet.window.patch_task_id, "FAILED", "", played)],
    )
    return played


def _write_outputs(played: PlayedCommand, instance_id: str, kind: FailureKind) -> tuple[int, int]:
    """The agent's uploads for one instance: every non-empty stream of every step."""
    written = size = 0
    for index, step in enumerate(kind.steps()):
        plugin = standin.PluginResult(
            step.name, step.status, step.status, step.response_code, action=step.action
        )
        if step.name == kind.step:
            streams = (("stdout", kind.stdout), ("stderr", kind.stderr))
        else:
            streams = (("stdout", step.stdout.encode()), ("stderr", b""))
        for stream, body in streams:
            key = standin.plugin_output_key(
                PREFIX, played.command_id, instance_id, plugin, index=index, stream=stream
            )
            if body and key:
                put_bytes(key, body)
                written += 1
                size += len(body)
    return written, size


def failing_indices(count: int, fraction: float) -> list[int]:
    """Which of `count` instances fail: `fraction` of them, evenly spread, at least one."""
    failing = max(1, round(count * fraction))
    return sorted({int(i * count / failing) for i in range(failing)})


def worst_case_kinds() -> tuple[FailureKind, ...]:
    """Every failure a 256 KiB log: the most each failure can cost to read and summarise."""
    return tuple(kind for kind in fleet_kinds() if kind.name == "package conflict")[:1]


def seed_fleet(
    stack: Stack,
    fleet: Fleet,
    count: int,
    fraction: float,
    kinds: tuple[FailureKind, ...] | None = None,
    *,
    vary: Callable[[int, str, FailureKind], FailureKind] | None = None,
) -> Seeded:
    """One AWS-RunPatchBaseline over `count` instances, `fraction` of them failing in the mix.

    `vary(n, instance_id, kind)`, when given, is what the n-th failing instance writes to S3 (its
    own copy of the log); the API's truncated view stays the kind's."""
    ids = fleet.ensure(count)
    kinds = kinds or fleet_kinds()
    failing = {ids[i]: kinds[n % len(kinds)] for n, i in enumerate(failing_indices(count, fraction))}
    chosen = {iid: failing.get(iid, SUCCESS) for iid in ids}
    outcomes = {
        iid: InstanceResult(kind.status, kind.status, kind.steps(), logs_reach_s3=False)
        for iid, kind in chosen.items()
    }
    played = _send(stack, fleet, outcomes)
    seeded = Seeded(
        event=command_event(played, region=REGION),
        command_id=played.command_id,
        instances=count,
        failed=failing,
        names={iid: fleet.names[iid] for iid in failing},
    )
    order = {iid: n for n, iid in enumerate(failing)} if vary else {}
    for iid, kind in chosen.items():
        if kind.logs_reach_s3:
            own = vary(order[iid], iid, kind) if iid in order and vary is not None else kind
            written, size = _write_outputs(played, iid, own)
            seeded.objects += written
            seeded.log_bytes += size
    return seeded


def seed_big_log(stack: Stack, fleet: Fleet, size: int) -> Seeded:
    """One instance whose failed step wrote `size` bytes of stdout, the cause at the very end."""
    (instance_id,) = fleet.ensure(1)
    log = big_log(size)
    kind = log.kind
    played = _send(
        stack, fleet, {instance_id: InstanceResult("Failed", "Failed", kind.steps(), logs_reach_s3=False)}
    )
    seeded = Seeded(
        event=command_event(played, region=REGION),
        command_id=played.command_id,
        instances=1,
        failed={instance_id: kind},
        names={instance_id: fleet.names[instance_id]},
    )
    for index, step in enumerate(kind.steps()):
        plugin = standin.PluginResult(
            step.name, step.status, step.status, step.response_code, action=step.action
        )
        key = standin.plugin_output_key(
            PREFIX, played.command_id, instance_id, plugin, index=index, stream="stdout"
        )
        if key is None:
            continue
        if step.status == "Failed":
            put_large(key, size, head=log.head, filler=log.filler, tail=log.tail)
            seeded.log_bytes += size
        else:
            put_bytes(key, step.stdout.encode())
        seeded.objects += 1
    return seeded
