"""AWS-RunPatchBaseline on Windows as the agent reports it: the PatchWindows step's patch summary
and installation results, or the Windows Update search error (an HRESULT) it fails with."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from local.agent_logs.common import (
    POWERSHELL,
    SHELL,
    Host,
    TaskContext,
    agent_exit,
    failed_result,
    iso,
    step_start,
)
from local.fleet_sim import InstanceResult, Step, skipped

WINDOWS_FAILED_EXIT_CODE = -1  # "failed to run commands: exit status 4294967295"


def windows_patch_steps(step: Step) -> tuple[Step, ...]:
    return (skipped("PatchLinux", SHELL, "Linux"), step, skipped("PatchMacOS", SHELL, "MacOS"))


def patch_windows(status: str, code: int, stdout: str, stderr: str = "") -> Step:
    return Step("PatchWindows", POWERSHELL, status=status, response_code=code, stdout=stdout, stderr=stderr)


_SERVER_2022 = "Microsoft server operating system version 21H2"
_KBS = (
    ("KB5039227", f"2024-06 Cumulative Update for {_SERVER_2022} for x64-based Systems (KB5039227)"),
    (
        "KB5039343",
        "2024-06 Cumulative Update for .NET Framework 3.5, 4.8 and 4.8.1 "
        f"for {_SERVER_2022} for x64 (KB5039343)",
    ),
    ("KB890830", "Windows Malicious Software Removal Tool x64 - v5.125 (KB890830)"),
    (
        "KB2267602",
        "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.413.355.0)",
    ),
    ("KB5039889", f"2024-06 Servicing Stack Update for {_SERVER_2022} for x64-based Systems (KB5039889)"),
)


def _windows_summary(
    host: Host, context: TaskContext, rng: random.Random, started: datetime, ended: datetime, *, failed: bool
) -> list[str]:
    def count(low: int, high: int) -> int:
        return -1 if failed else rng.randint(low, high)

    pairs = [
        ("PatchGroup", context.patch_group),
        ("BaselineId", context.windows_baseline_id),
        ("Baseline", "null"),
        ("SnapshotId", context.snapshot_id),
        ("RebootOption", context.reboot_option),
        ("OwnerInformation", ""),
        ("OperationType", context.operation),
        ("OperationStartTime", iso(started, 7)),
        ("OperationEndTime", iso(ended, 7)),
        ("InstalledCount", str(count(20, 60))),
        ("InstalledRejectedCount", str(count(0, 0))),
        ("InstalledPendingRebootCount", str(count(0, 2))),
        ("InstalledOtherCount", str(count(90, 180))),
        ("FailedCount", str(count(0, 0))),
        ("MissingCount", str(count(0, 0))),
        ("NotApplicableCount", str(count(1700, 2100))),
        ("UnreportedNotApplicableCount", str(count(0, 0))),
    ]
    return [
        "",
        f"Patch Summary for {host.hostname}",
        *(f"{key:<36}: {value}".rstrip() for key, value in pairs),
    ]


def windows_success(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> InstanceResult:
    started = step_start(context, rng)
    ended = started + timedelta(minutes=rng.uniform(8, 45))
    lines = _windows_summary(host, context, rng, started, ended, failed=False)
    if context.operation == "Install":
        lines += [
            "",
            f"{host.hostname} - PatchBaselineOperations Installation Results - {iso(ended, 7)}",
            "",
        ]
        lines += [
            "KbArticleId Installed  FailedToInstall Title",
            "----------- ---------  --------------- -----",
        ]
        for kb, title in rng.sample(_KBS, rng.randint(1, len(_KBS))):
            lines.append(f"{kb:<11} True       False           {title}")
    stdout = "\n".join(lines) + "\n"
    return InstanceResult("Success", "Success", windows_patch_steps(patch_windows("Success", 0, stdout)))


def windows_update_error(
    hresult: str,
) -> Callable[[Host, TaskContext, random.Random, float | None], InstanceResult]:
    def build(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> InstanceResult:
        started = step_start(context, rng)
        ended = started + timedelta(minutes=rng.uniform(1, 4))
        stdout_lines = _windows_summary(host, context, rng, started, ended, failed=True)
        stdout_lines += [
            "",
            f"{host.hostname} - PatchBaselineOperations Installation Results - {iso(ended, 7)}",
            "",
        ]
        script = (
            rf"C:\ProgramData\Amazon\SSM\InstanceData\{host.instance_id}\document\orchestration"
            rf"\{context.command_id}\PatchWindows\_script.ps1"
        )
        stderr_lines = [
            "Invoke-PatchBaselineOperation : Exception Details: An error occurred when attempting to search "
            "Windows Update.",
            "Exception Level 1:",
            f" Error Message: Exception from HRESULT: {hresult}",
            " Stack Trace:    at WUApiLib.IUpdateSearcher.Search(String criteria)",
            "   at Amazon.Patch.Baseline.Operations.PatchNow.Implementations.WindowsUpdateAgent"
            ".SearchForUpdates(String searchCriteria)",
            f"At {script}:233 char:13",
            f"+ $response = Invoke-PatchBaselineOperation -Operation {context.operation} -Snapshot ...",
            "+             " + "~" * 60,
            "    + CategoryInfo          : OperationStopped: (Amazon.Patch.Ba...UpdateOperation:Install"
            "WindowsUpdateOperation) [Invoke-PatchBaselineOperation], Exception",
            "    + FullyQualifiedErrorId : Exception Level 1:",
            f" Error Message: Exception from HRESULT: {hresult}",
            " Stack Trace:    at WUApiLib.IUpdateSearcher.Search(String criteria)",
        ]
        stdout = "\n".join(stdout_lines) + "\n"
        stderr = "\n".join(stderr_lines) + "\n" + agent_exit(WINDOWS_FAILED_EXIT_CODE)
        return failed_result(
            windows_patch_steps(patch_windows("Failed", WINDOWS_FAILED_EXIT_CODE, stdout, stderr))
        )

    return build
