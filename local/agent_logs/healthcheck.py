"""Our healthcheck document as the agent reports it: the CHECK lines and verdict that
documents/scripts/healthcheck.{sh,ps1} print (passing, or failing one check), a missing script,
and on an EC2 Mac instance what the document's own RunMacOSHealthcheck script prints (run, not
retyped)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from local import documents
from local.agent_logs.common import (
    DOWNLOAD,
    LINUX,
    MACOS,
    POWERSHELL,
    SHELL,
    WINDOWS,
    HealthcheckSettings,
    Host,
    TaskContext,
    agent_exit,
    failed_result,
)
from local.agent_logs.linux_distros import distro_of
from local.fleet_sim import InstanceResult, Step, skipped

HEALTHCHECK_SCRIPT = {
    LINUX: "/var/lib/amazon/ssm/hygiene/healthcheck.sh",
    WINDOWS: r"C:\ProgramData\Amazon\SSM\hygiene\healthcheck.ps1",
}


def healthcheck_steps(platform: str, run: Step | None, *, download: Step | None = None) -> tuple[Step, ...]:
    """The five steps of documents/healthcheck.yaml, the other platforms' skipped (on macOS the four
    of Linux and Windows, and `run` is RunMacOSHealthcheck)."""
    if platform == MACOS:
        others = [
            skipped("DownloadLinuxHealthcheck", DOWNLOAD, "Linux"),
            skipped("RunLinuxHealthcheck", SHELL, "Linux"),
            skipped("DownloadWindowsHealthcheck", DOWNLOAD, "Windows"),
            skipped("RunWindowsHealthcheck", POWERSHELL, "Windows"),
        ]
        return (*others, *((run,) if run else ()))
    linux = platform == LINUX
    mine_download = download or Step(f"Download{'Linux' if linux else 'Windows'}Healthcheck", DOWNLOAD)
    steps: list[Step] = []
    for step_platform, download_name, run_name, action in (
        (LINUX, "DownloadLinuxHealthcheck", "RunLinuxHealthcheck", SHELL),
        (WINDOWS, "DownloadWindowsHealthcheck", "RunWindowsHealthcheck", POWERSHELL),
    ):
        if step_platform == platform:
            steps.append(mine_download)
            if run is not None:
                steps.append(run)
        else:
            other = "Linux" if step_platform == LINUX else "Windows"
            steps += [skipped(download_name, DOWNLOAD, other), skipped(run_name, action, other)]
    steps.append(skipped("RunMacOSHealthcheck", SHELL, "MacOS"))
    return tuple(steps)


def macos_healthcheck(
    host: Host, context: TaskContext, rng: random.Random, _: float | None
) -> InstanceResult:
    """The document has no healthcheck script for macOS: its RunMacOSHealthcheck step fails."""
    ran = documents.run_step("RunMacOSHealthcheck")
    stderr = ran.stderr + agent_exit(ran.exit_code)
    run = Step("RunMacOSHealthcheck", SHELL, "Failed", ran.exit_code, ran.stdout, stderr)
    return failed_result(healthcheck_steps(MACOS, run))


def run_step(platform: str, status: str, code: int, stdout: str, stderr: str = "") -> Step:
    if platform == LINUX:
        return Step(
            "RunLinuxHealthcheck", SHELL, status=status, response_code=code, stdout=stdout, stderr=stderr
        )
    return Step(
        "RunWindowsHealthcheck", POWERSHELL, status=status, response_code=code, stdout=stdout, stderr=stderr
    )


@dataclass(frozen=True)
class _Check:
    name: str
    result: str
    detail: str


def _checks(host: Host, settings: HealthcheckSettings, rng: random.Random, fail: str | None) -> list[_Check]:
    """The CHECK lines of one run, in the script's order (ssm-agent, disks, memory, pending
    reboot, services, http); `fail` names the check made to fail."""
    checks: list[_Check] = []
    linux = host.platform == LINUX
    if linux:
        unit = distro_of(host).ssm_unit
        checks.append(_Check("ssm-agent", "PASS", f"unit={unit} state=active"))
    else:
        checks.append(_Check("ssm-agent", "PASS", "service=AmazonSSMAgent status=Running"))
    mounts = (
        ["/"] + (["/data"] if host.index % 4 == 1 else [])
        if linux
        else ["C:"] + (["D:"] if host.index % 4 == 1 else [])
    )
    for number, mount in enumerate(mounts):
        threshold = settings.min_free_disk_percent
        free = rng.randint(threshold + 8, 88)
        result = "PASS"
        if fail == "disk" and number == 0:
            free, result = rng.randint(1, max(1, threshold - 3)), "FAIL"
        checks.append(_Check(f"disk:{mount}", result, f"free={free}% threshold={threshold}% mount={mount}"))
    threshold = settings.min_free_memory_percent
    available, result = rng.randint(threshold + 10, 82), "PASS"
    if fail == "memory":
        available, result = rng.randint(0, max(0, threshold - 2)), "FAIL"
    checks.append(_Check("memory", result, f"available={available}% threshold={threshold}%"))
    if fail == "reboot":
        checks.append(_Check("pending-reboot", "FAIL", "reboot pending (enforced)"))
    else:
        checks.append(_Check("pending-reboot", "PASS", "no reboot pending"))
    for number, service in enumerate(settings.required_services):
        down = fail == "service" and number == len(settings.required_services) - 1
        if linux:
            checks.append(
                _Check(
                    f"service:{service}",
                    "FAIL" if down else "PASS",
                    f"state={'failed' if down else 'active'}",
                )
            )
        else:
            checks.append(
                _Check(
                    f"service:{service}",
                    "FAIL" if down else "PASS",
                    f"status={'Stopped' if down else 'Running'}",
                )
            )
    if settings.http_endpoint:
        checks.append(_Check("http", "PASS", f"status=200 url={settings.http_endpoint}"))
    else:
        checks.append(_Check("http", "SKIP", "no endpoint configured"))
    return checks


def _check_lines(checks: list[_Check]) -> list[str]:
    return [f"CHECK {c.name} {c.result} {c.detail}" for c in checks]


def healthcheck_pass_stdout(host: Host, context: TaskContext, rng: random.Random) -> str:
    checks = _checks(host, context.healthcheck, rng, None)
    return "\n".join([*_check_lines(checks), f"HEALTHCHECK PASS {len(checks)} checks"]) + "\n"


def healthcheck_success(
    host: Host, context: TaskContext, rng: random.Random, _: float | None
) -> InstanceResult:
    run = run_step(host.platform, "Success", 0, healthcheck_pass_stdout(host, context, rng))
    return InstanceResult("Success", "Success", healthcheck_steps(host.platform, run))


def healthcheck_failure(
    check: str,
) -> Callable[[Host, TaskContext, random.Random, float | None], InstanceResult]:
    def build(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> InstanceResult:
        checks = _checks(host, context.healthcheck, rng, check)
        failed = [c.name for c in checks if c.result == "FAIL"]
        final = f"HEALTHCHECK FAIL {len(failed)} of {len(checks)} checks failed: {', '.join(failed)}"
        stdout = "\n".join([*_check_lines(checks), final]) + "\n"
        run = run_step(host.platform, "Failed", 1, stdout, final + "\n" + agent_exit(1))
        return failed_result(healthcheck_steps(host.platform, run))

    return build


def script_missing(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> InstanceResult:
    stderr = f"healthcheck script missing: {HEALTHCHECK_SCRIPT[host.platform]}\n" + agent_exit(3)
    return failed_result(healthcheck_steps(host.platform, run_step(host.platform, "Failed", 3, "", stderr)))


def needs_services(context: TaskContext) -> str | None:
    return None if context.healthcheck.required_services else "needs RequiredServices (no service is checked)"


def needs_reboot_enforced(context: TaskContext) -> str | None:
    return None if context.healthcheck.fail_on_pending_reboot else "needs FailOnPendingReboot=true"
