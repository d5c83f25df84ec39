"""What every generator of agent logs is given and shares: the task and platform names, the
instance (`Host`), the task of the night (`TaskContext`), the seeded randomness (`seeded`) and the
pieces of a result the agent writes the same way for every document (step actions, ISO times,
the exit-status line, a failed run).

Deterministic: every variation comes from `random.Random` seeded with the night's seed, the task,
the outcome kind and the instance's index in the fleet, never from the clock or the hash seed.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from local.fleet_sim import InstanceResult, Step

PATCH, HEALTHCHECK = "patch", "healthcheck"
LINUX, WINDOWS, MACOS = "linux", "windows", "macos"
SHELL, POWERSHELL, DOWNLOAD = "aws:runShellScript", "aws:runPowerShellScript", "aws:downloadContent"


# --------------------------------------------------------------------------- inputs


def seeded(*parts: object) -> random.Random:
    """A generator seeded with the joined parts: the same parts give the same choices in every
    process (a str seed does not depend on PYTHONHASHSEED). Simulation only, never for secrets."""
    return random.Random("/".join(str(part) for part in parts))  # noqa: S311


@dataclass(frozen=True)
class Host:
    """One instance of the fleet as the generators need it."""

    index: int
    """Position in the fleet (0-based): drives the per-instance variations."""
    instance_id: str
    name: str
    platform: str
    """linux | windows | macos (an EC2 Mac instance)"""
    hostname: str

    @classmethod
    def of(cls, index: int, instance_id: str, name: str, platform: str, *, seed: int, region: str) -> Host:
        """A host with the machine name the OS would have: ip-10-0-x-y.<region>.compute.internal
        on EC2 Linux and Mac, EC2AMAZ-XXXXXXX on EC2 Windows, the Name tag for a hybrid (mi-) node."""
        if platform not in (LINUX, WINDOWS, MACOS):
            raise ValueError(f"platform {platform!r} is not {LINUX}, {WINDOWS} or {MACOS}")
        if instance_id.startswith("mi-"):
            hostname = name
        elif platform == WINDOWS:
            rng = seeded(seed, "hostname", index)
            hostname = "EC2AMAZ-" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=7))
        else:
            hostname = f"ip-10-0-{16 + index // 250}-{4 + index % 250}.{region}.compute.internal"
        return cls(index=index, instance_id=instance_id, name=name, platform=platform, hostname=hostname)


@dataclass(frozen=True)
class HealthcheckSettings:
    """The healthcheck document's parameters (template defaults)."""

    required_services: tuple[str, ...] = ()
    min_free_disk_percent: int = 10
    min_free_memory_percent: int = 5
    http_endpoint: str = ""
    fail_on_pending_reboot: bool = False


@dataclass(frozen=True)
class TaskContext:
    """One task of one window night: which command, when it started, with which parameters."""

    task: str
    """patch | healthcheck"""
    command_id: str
    started: datetime
    seed: int = 0
    region: str = "eu-west-2"
    snapshot_id: str = "00000000-0000-4000-8000-000000000000"
    operation: str = "Install"
    reboot_option: str = "RebootIfNeeded"
    patch_group: str = "prod"
    linux_baseline_id: str = "pb-0e3a1f3c5d2b7a914"
    windows_baseline_id: str = "pb-0a1b2c3d4e5f60718"
    healthcheck: HealthcheckSettings = field(default_factory=HealthcheckSettings)


# --------------------------------------------------------------------------- times and results


def iso(moment: datetime, digits: int = 6) -> str:
    fraction = f"{moment.microsecond:06d}{'0' * max(0, digits - 6)}"[:digits]
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"


def step_start(context: TaskContext, rng: random.Random) -> datetime:
    """When the step started on this instance: within two minutes of the task's start."""
    return context.started + timedelta(seconds=rng.uniform(3, 120))


def failed_result(steps: tuple[Step, ...]) -> InstanceResult:
    return InstanceResult("Failed", "Failed", steps)


def agent_exit(code: int) -> str:
    """The line the agent appends to stderr when a script exits non-zero."""
    return f"failed to run commands: exit status {code & 0xFFFFFFFF if code < 0 else code}\n"
