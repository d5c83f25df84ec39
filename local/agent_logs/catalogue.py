"""The catalogue of outcome kinds: every way an invocation of the window's two documents can end
on one instance (`KINDS`: name -> tasks, platforms, the invocation status it ends with), and
`outcome(kind, host, context)`, which builds one with the generators of this package."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from local.agent_logs.common import (
    HEALTHCHECK,
    LINUX,
    MACOS,
    PATCH,
    POWERSHELL,
    SHELL,
    WINDOWS,
    Host,
    TaskContext,
    seeded,
)
from local.agent_logs.healthcheck import (
    healthcheck_failure,
    healthcheck_success,
    macos_healthcheck,
    needs_reboot_enforced,
    needs_services,
    script_missing,
)
from local.agent_logs.linux_patch import (
    apt_python3,
    large_log,
    linux_patch_success,
    no_mirrors,
    permission_denied,
    reboot_with_failures,
    yum_lock,
)
from local.agent_logs.stopped import cancelled, delivery_timed_out, stopped
from local.agent_logs.windows_patch import windows_success, windows_update_error
from local.fleet_sim import InstanceResult, Step, skipped


@dataclass(frozen=True)
class Kind:
    """One way an invocation can end."""

    name: str
    tasks: frozenset[str]
    platforms: tuple[str, ...]
    """Platforms it can happen on, the usual one first."""
    status: str
    status_details: str
    description: str
    build: Callable[[Host, TaskContext, random.Random, float | None], InstanceResult] = field(repr=False)
    needs: Callable[[TaskContext], str | None] = field(repr=False)
    """Why the kind cannot happen with these parameters (None: it can)."""

    @property
    def failed(self) -> bool:
        return self.status != "Success"


def _no_s3_permission(
    host: Host, context: TaskContext, rng: random.Random, size_mb: float | None
) -> InstanceResult:
    """The run fails (Linux: the agent's script is not executable; Windows: Windows Update
    search) and the instance role cannot write to the bucket: no object at all in S3."""
    if host.platform == LINUX:
        failed = permission_denied(host, context, rng, size_mb)
    else:
        failed = windows_update_error("0x80240437")(host, context, rng, size_mb)
    return replace(failed, logs_reach_s3=False)


# --------------------------------------------------------------------------- the catalogue

_BOTH = (LINUX, WINDOWS)
_ALL_TASKS = frozenset({PATCH, HEALTHCHECK})
_PATCH_ONLY = frozenset({PATCH})
_HEALTHCHECK_ONLY = frozenset({HEALTHCHECK})
_Build = Callable[[Host, TaskContext, random.Random, float | None], InstanceResult]


def _always(_: TaskContext) -> str | None:
    return None


def _failure(
    name: str,
    tasks: frozenset[str],
    platforms: tuple[str, ...],
    description: str,
    build: _Build,
    *,
    needs: Callable[[TaskContext], str | None] = _always,
) -> Kind:
    return Kind(name, tasks, platforms, "Failed", "Failed", description, build, needs)


def _catalogue() -> dict[str, Kind]:
    kinds = [
        Kind(
            "success",
            _ALL_TASKS,
            (*_BOTH, MACOS),
            "Success",
            "Success",
            "the run succeeded",
            _success,
            _always,
        ),
        # AWS-RunPatchBaseline
        _failure("yum-lock", _PATCH_ONLY, (LINUX,), "yum lock held by another process, exit 1", yum_lock),
        _failure(
            "no-mirrors", _PATCH_ONLY, (LINUX,), "[Errno 256] No more mirrors to try., exit 1", no_mirrors
        ),
        _failure(
            "apt-python3", _PATCH_ONLY, (LINUX,), "Apt requires Python3 to be installed, exit 1", apt_python3
        ),
        _failure(
            "script-permission-denied",
            _PATCH_ONLY,
            (LINUX,),
            "_script.sh: Permission denied (noexec /var/lib/amazon), exit 126",
            permission_denied,
        ),
        _failure(
            "reboot-with-failures",
            _PATCH_ONLY,
            (LINUX,),
            "two packages failed to install, reboot requested, exit 195",
            reboot_with_failures,
        ),
        _failure(
            "large-log",
            _PATCH_ONLY,
            (LINUX,),
            "a huge log (size_mb, default 8) with the cause, a full disk, at its end, exit 1",
            large_log,
        ),
        _failure(
            "windows-update-search",
            _PATCH_ONLY,
            (WINDOWS,),
            "Windows Update search failed, HRESULT 0x80240437, exit 4294967295 (-1)",
            windows_update_error("0x80240437"),
        ),
        _failure(
            "windows-update-offline",
            _PATCH_ONLY,
            (WINDOWS,),
            "Windows Update unreachable, HRESULT 0x80072EE2, exit 4294967295 (-1)",
            windows_update_error("0x80072EE2"),
        ),
        _failure(
            "no-s3-permission",
            _PATCH_ONLY,
            _BOTH,
            "fails as script-permission-denied / windows-update-search; no object reaches S3",
            _no_s3_permission,
        ),
        # our healthcheck
        _failure(
            "healthcheck-disk",
            _HEALTHCHECK_ONLY,
            _BOTH,
            "CHECK disk:/ (disk:C:) FAIL below MinFreeDiskPercent, exit 1",
            healthcheck_failure("disk"),
        ),
        _failure(
            "healthcheck-memory",
            _HEALTHCHECK_ONLY,
            _BOTH,
            "CHECK memory FAIL below MinFreeMemoryPercent, exit 1",
            healthcheck_failure("memory"),
        ),
        _failure(
            "healthcheck-service",
            _HEALTHCHECK_ONLY,
            _BOTH,
            "the last of RequiredServices is not running, exit 1",
            healthcheck_failure("service"),
            needs=needs_services,
        ),
        _failure(
            "healthcheck-reboot",
            _HEALTHCHECK_ONLY,
            _BOTH,
            "CHECK pending-reboot FAIL (FailOnPendingReboot=true), exit 1",
            healthcheck_failure("reboot"),
            needs=needs_reboot_enforced,
        ),
        _failure(
            "healthcheck-script-missing",
            _HEALTHCHECK_ONLY,
            _BOTH,
            "the downloaded script is empty: healthcheck script missing, exit 3",
            script_missing,
        ),
        _failure(
            "healthcheck-macos",
            _HEALTHCHECK_ONLY,
            (MACOS,),
            "RunMacOSHealthcheck: CHECK platform:macOS FAIL (no macOS script), exit 1",
            macos_healthcheck,
        ),
        # either task
        Kind(
            "timed-out-execution",
            _ALL_TASKS,
            _BOTH,
            "TimedOut",
            "Execution Timed Out",
            "the step ran past its timeout and was killed (exit 137 / -1), partial output",
            stopped("TimedOut", "Execution Timed Out"),
            _always,
        ),
        Kind(
            "delivery-timed-out",
            _ALL_TASKS,
            (*_BOTH, MACOS),
            "TimedOut",
            "Delivery Timed Out",
            "the instance never picked the command up (it is stopped): no step, no output",
            delivery_timed_out,
            _always,
        ),
        Kind(
            "cancelled",
            _ALL_TASKS,
            _BOTH,
            "Cancelled",
            "Cancelled",
            "CancelCommand (cutoff with CANCEL_TASK): every other one mid-run with partial output",
            cancelled,
            _always,
        ),
    ]
    return {kind.name: kind for kind in kinds}


def _success(host: Host, context: TaskContext, rng: random.Random, size_mb: float | None) -> InstanceResult:
    if host.platform == MACOS:
        if context.task == HEALTHCHECK:
            raise ValueError("a macOS node cannot pass the healthcheck: the document fails there")
        # PatchMacOS succeeds. Its output is not modelled (no public sample to follow): the step
        # prints nothing and so, like any empty stream, leaves nothing in S3.
        linux, windows = skipped("PatchLinux", SHELL, "Linux"), skipped("PatchWindows", POWERSHELL, "Windows")
        return InstanceResult("Success", "Success", (linux, windows, Step("PatchMacOS", SHELL)))
    if context.task == HEALTHCHECK:
        return healthcheck_success(host, context, rng, size_mb)
    if host.platform == WINDOWS:
        return windows_success(host, context, rng, size_mb)
    return linux_patch_success(host, context, rng, size_mb)


KINDS: Mapping[str, Kind] = MappingProxyType(_catalogue())
"""Every outcome kind by name."""


def default_kind(task: str, platform: str) -> str:
    """How an instance no outcome is listed for ends the task: it succeeds, except that a macOS
    node always fails the healthcheck (healthcheck-macos: the document has no check for it)."""
    return "healthcheck-macos" if task == HEALTHCHECK and platform == MACOS else "success"


def outcome(kind: str, host: Host, context: TaskContext, *, size_mb: float | None = None) -> InstanceResult:
    """How `host` ends the task in `context` when it ends as `kind`. Deterministic."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown outcome kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    if context.task not in spec.tasks:
        raise ValueError(f"outcome kind {kind!r} does not happen in the {context.task} task")
    if host.platform not in spec.platforms:
        raise ValueError(f"outcome kind {kind!r} does not happen on {host.platform}")
    problem = spec.needs(context)
    if problem:
        raise ValueError(f"outcome kind {kind!r} {problem}")
    rng = seeded(context.seed, context.task, kind, host.index)
    return spec.build(host, context, rng, size_mb)
