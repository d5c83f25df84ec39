"""AWS-RunPatchBaseline on Linux as the agent reports it: the PatchLinux step's log (agent lines
and the raw output of yum, dnf or apt in between) for a run that succeeds, fails in one of the
known ways, is stopped mid-transaction, or writes a huge log whose cause is at its end. Texts
follow aws-ssm-facts.md section 4 and the fixtures in tests/fixtures/logs."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from local.agent_logs.common import (
    POWERSHELL,
    SHELL,
    Host,
    TaskContext,
    agent_exit,
    failed_result,
    iso,
    seeded,
    step_start,
)
from local.agent_logs.linux_distros import AL2_PACKAGES, DISTROS, Distro, Package, distro_of
from local.fleet_sim import InstanceResult, Step, skipped

LARGE_LOG_DEFAULT_MB = 8.0


def _stamp(moment: datetime) -> str:
    return moment.strftime("%m/%d/%Y %H:%M:%S")


class _Log:
    """Lines of a Linux patch log: agent lines with `%m/%d/%Y %H:%M:%S root [LEVEL]:` and the
    package manager's raw lines in between."""

    def __init__(self, start: datetime, rng: random.Random) -> None:
        self.now = start
        self.rng = rng
        self.lines: list[str] = []

    def tick(self, low: float = 0.0, high: float = 1.5) -> None:
        self.now += timedelta(seconds=self.rng.uniform(low, high))

    def log(self, level: str, message: str, *, low: float = 0.0, high: float = 1.5) -> None:
        self.tick(low, high)
        self.lines.append(f"{_stamp(self.now)} root [{level}]: {message}")

    def raw(self, *lines: str) -> None:
        self.lines.extend(lines)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _payload_url(region: str) -> str:
    return (
        f"https://s3.dualstack.{region}.amazonaws.com/aws-ssm-{region}/patchbaselineoperations/"
        "linux/payloads/patch-baseline-operations-1.192.tar.gz"
    )


def _linux_header(log: _Log, distro: Distro, host: Host, context: TaskContext) -> None:
    """What every AWS-RunPatchBaseline run on Linux prints before the work (some hosts also get
    the harmless kernel-access warning)."""
    log.raw(
        *distro.binaries, "Using python binary: 'python3'", f"Using Python Version: Python {distro.python}"
    )
    log.log("INFO", f"Downloading payload from {_payload_url(context.region)}")
    log.log("INFO", "Attempting to import entrance file os_selector")
    log.log("INFO", f"Running with snapshot id = {context.snapshot_id} and operation = {context.operation}")
    log.log("INFO", f"Instance Id: {host.instance_id}", high=0.2)
    log.log("INFO", f"Region: {context.region}", high=0.2)
    log.log("INFO", f"Product: {distro.product}", high=0.5)
    log.log("INFO", f"Patch Group: {context.patch_group}", high=0.2)
    log.log("INFO", f"Operating system: {distro.os_line}", high=0.2)
    if host.index % 3 == 0:
        log.log("WARNING", "Unable to gain necessary access for possible kernel updates, code: 1")


def _summary_line(
    log: _Log,
    context: TaskContext,
    started: datetime,
    *,
    installed: int,
    missing: int = 0,
    failed: int = 0,
    pending_reboot: int = 0,
) -> None:
    summary = {
        "BaselineId": context.linux_baseline_id,
        "PatchGroup": context.patch_group,
        "SnapshotId": context.snapshot_id,
        "InstalledCount": installed,
        "InstalledOtherCount": log.rng.randint(20, 60),
        "InstalledRejectedCount": 0,
        "InstalledPendingRebootCount": pending_reboot,
        "NotApplicableCount": log.rng.randint(1400, 1900),
        "MissingCount": missing,
        "FailedCount": failed,
        "OperationType": context.operation,
        "RebootOption": context.reboot_option,
        "OperationStartTime": iso(started),
        "OperationEndTime": iso(log.now),
    }
    log.log("INFO", f"Summary: {summary!r}", high=0.3)


def _yum_transaction(log: _Log, packages: list[Package], *, stop_after: int | None = None) -> bool:
    """yum's output for updating `packages`; True when it ran to the end."""
    log.raw(
        "Loaded plugins: extras_suggestions, langpacks, priorities, update-motd", "Resolving Dependencies"
    )
    log.raw("--> Running transaction check")
    for p in packages:
        log.raw(
            f"---> Package {p.name}.{p.arch} {p.epoch}:{p.old} will be updated",
            f"---> Package {p.name}.{p.arch} {p.epoch}:{p.new} will be an update",
        )
    log.raw("--> Finished Dependency Resolution", "", "Transaction Summary", "=" * 80)
    log.raw(f"Upgrade  {len(packages)} Package{'s' if len(packages) != 1 else ''}", "")
    log.raw("Downloading packages:", "Running transaction check", "Running transaction test")
    log.raw("Transaction test succeeded", "Running transaction")
    steps = [("Updating", p, p.new) for p in packages] + [("Cleanup", p, p.old) for p in packages]
    total = len(steps)
    for number, (verb, p, version) in enumerate(steps, start=1):
        if stop_after is not None and number > stop_after:
            return False
        log.raw(f"  {verb:<10} : {p.name}-{version}.{p.arch}".ljust(70) + f"{number}/{total}")
    log.raw("", "Updated:")
    log.raw(*(f"  {p.name}.{p.arch} {p.epoch}:{p.new}" for p in packages))
    log.raw("", "Complete!")
    return True


def _dnf_transaction(log: _Log, packages: list[Package]) -> None:
    log.raw(f"Last metadata expiration check: 0:{log.rng.randint(10, 59)}:{log.rng.randint(10, 59)} ago.")
    log.raw("Dependencies resolved.", "=" * 80)
    log.raw(" Package" + " " * 20 + "Arch       Version" + " " * 21 + "Repository        Size", "=" * 80)
    log.raw("Upgrading:")
    log.raw(
        *(
            f" {p.name:<27} {p.arch:<10} {p.epoch + ':' if p.epoch != '0' else ''}{p.new:<28} amazonlinux"
            f"  {log.rng.randint(40, 2400):>5} k"
            for p in packages
        )
    )
    log.raw("", "Transaction Summary", "=" * 80, f"Upgrade  {len(packages)} Packages", "")
    log.raw("Running transaction check", "Transaction check succeeded.", "Running transaction test")
    log.raw("Transaction test succeeded.", "Running transaction")
    total = 2 * len(packages)
    for number, p in enumerate(packages, start=1):
        log.raw(f"  Upgrading        : {p.name}-{p.new}.{p.arch}".ljust(70) + f"{number}/{total}")
    for number, p in enumerate(packages, start=len(packages) + 1):
        log.raw(f"  Cleanup          : {p.name}-{p.old}.{p.arch}".ljust(70) + f"{number}/{total}")
    log.raw("", "Upgraded:", *(f"  {p.name}-{p.new}.{p.arch}" for p in packages), "", "Complete!")


def _apt_transaction(log: _Log, packages: list[Package], region: str) -> None:
    log.raw("Reading package lists...", "Building dependency tree...", "Reading state information...")
    log.raw("Calculating upgrade...", "The following packages will be upgraded:")
    log.raw("  " + " ".join(p.name for p in packages))
    log.raw(f"{len(packages)} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
    for number, p in enumerate(packages, start=1):
        log.raw(
            f"Get:{number} http://{region}.ec2.archive.ubuntu.com/ubuntu jammy-updates/main {p.arch} "
            f"{p.name} {p.arch} {p.new} [{log.rng.randint(20, 2000)} kB]"
        )
    for p in packages:
        log.raw(
            f"Preparing to unpack .../{p.name}_{p.new.split(':')[-1]}_{p.arch}.deb ...",
            f"Unpacking {p.name}:{p.arch} ({p.new}) over ({p.old}) ...",
        )
    log.raw(*(f"Setting up {p.name}:{p.arch} ({p.new}) ..." for p in packages))


def _updates(distro: Distro, rng: random.Random, low: int = 1, high: int = 9) -> list[Package]:
    count = min(len(distro.packages), rng.randint(low, high))
    return sorted(rng.sample(distro.packages, count), key=lambda p: p.name)


def linux_patch_steps(step: Step) -> tuple[Step, ...]:
    return (step, skipped("PatchWindows", POWERSHELL, "Windows"), skipped("PatchMacOS", SHELL, "MacOS"))


def patch_linux(status: str, code: int, stdout: str, stderr: str = "") -> Step:
    return Step("PatchLinux", SHELL, status=status, response_code=code, stdout=stdout, stderr=stderr)


# --------------------------------------------------------------------------- patch: Linux


def _linux_success_log(host: Host, context: TaskContext, rng: random.Random) -> str:
    distro = distro_of(host)
    started = step_start(context, rng)
    log = _Log(started, rng)
    _linux_header(log, distro, host, context)
    if context.operation == "Scan":
        log.log("INFO", "Checking for available updates")
        missing = rng.randint(0, 9)
        log.log("INFO", f"Scan found {missing} missing updates", low=5, high=40)
        _summary_line(log, context, started, installed=rng.randint(300, 450), missing=missing)
    else:
        packages = _updates(distro, rng, 0)
        log.log("INFO", f"Installing {len(packages)} updates")
        if packages and distro.manager == "yum":
            _yum_transaction(log, packages)
        elif packages and distro.manager == "dnf":
            _dnf_transaction(log, packages)
        elif packages:
            _apt_transaction(log, packages, context.region)
        log.tick(30, 300)
        log.log("INFO", f"Report uploaded: {len(packages)} installed, 0 failed, 0 missing")
        _summary_line(log, context, started, installed=rng.randint(300, 450))
    log.log("INFO", "No reboot is required", high=0.2)
    return log.text()


def linux_patch_success(
    host: Host, context: TaskContext, rng: random.Random, _: float | None
) -> InstanceResult:
    return InstanceResult(
        "Success",
        "Success",
        linux_patch_steps(patch_linux("Success", 0, _linux_success_log(host, context, rng))),
    )


def yum_lock(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> InstanceResult:
    log = _Log(step_start(context, rng), rng)
    _linux_header(log, DISTROS["amazon-linux-2"], host, context)
    log.log("INFO", "Attempting to acquire yum lock")
    for _retry in range(rng.randint(8, 15)):
        log.log("INFO", "another process has acquired yum lock, waiting 2 s and retry.", low=2, high=2)
    log.log(
        "ERROR", f"Existing lock /var/run/yum.pid: another copy is running as pid {rng.randint(900, 32000)}."
    )
    log.log("ERROR", "Patch operation failed: unable to acquire yum lock", high=0.1)
    return failed_result(linux_patch_steps(patch_linux("Failed", 1, log.text())))


def no_mirrors(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> InstanceResult:
    log = _Log(step_start(context, rng), rng)
    _linux_header(log, DISTROS["amazon-linux-2"], host, context)
    log.log("INFO", "Checking for available updates" if context.operation == "Scan" else "Installing updates")
    repomd = (
        "https://cdn.amazonlinux.com/2/core/2.0/x86_64/"
        "6b0225ccc542f3834c95733dcf321ab9f1e77e6ca6817469771a8af7c49efe6c/repodata/repomd.xml"
    )
    log.raw("Loaded plugins: extras_suggestions, langpacks, priorities, update-motd")
    for _attempt in range(rng.randint(1, 3)):
        log.raw(
            f"{repomd}: [Errno 12] Timeout on {repomd}: (28, 'Connection timed out after "
            f"{rng.randint(5000, 5002)} milliseconds')",
            "Trying other mirror.",
        )
    log.raw(
        "",
        "",
        " One of the configured repositories failed (Amazon Linux 2 core repository),",
        " and yum doesn't have enough cached data to continue. At this point the only",
        ' safe thing yum can do is fail. There are a few ways to work "fix" this:',
        "",
        "     1. Contact the upstream for the repository and get them to fix the problem.",
        "",
        "failure: repodata/repomd.xml from amzn2-core: [Errno 256] No more mirrors to try.",
    )
    log.tick(30, 60)
    log.log("ERROR", "Error code returned from yum check-update: 1")
    return failed_result(linux_patch_steps(patch_linux("Failed", 1, log.text())))


def apt_python3(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> InstanceResult:
    stdout = "/usr/bin/apt-get\n/usr/bin/dpkg\n"
    stderr = (
        "/bin/sh: 1: python3: not found\n/bin/sh: 1: python2: not found\n/bin/sh: 1: python: not found\n"
        "Apt requires Python3 to be installed\n" + agent_exit(1)
    )
    return failed_result(linux_patch_steps(patch_linux("Failed", 1, stdout, stderr)))


def _script_path(host: Host, context: TaskContext, step: str) -> str:
    orchestration = f"/var/lib/amazon/ssm/{host.instance_id}/document/orchestration"
    return f"{orchestration}/{context.command_id}/{step}/_script.sh"


def permission_denied(
    host: Host, context: TaskContext, rng: random.Random, _: float | None
) -> InstanceResult:
    stderr = f"sh: 1: {_script_path(host, context, 'PatchLinux')}: Permission denied\n" + agent_exit(126)
    return failed_result(linux_patch_steps(patch_linux("Failed", 126, "", stderr)))


def reboot_with_failures(
    host: Host, context: TaskContext, rng: random.Random, _: float | None
) -> InstanceResult:
    started = step_start(context, rng)
    log = _Log(started, rng)
    _linux_header(log, DISTROS["amazon-linux-2"], host, context)
    packages = _updates(DISTROS["amazon-linux-2"], rng, 4, 12)
    broken = next(p for p in AL2_PACKAGES if p.name == "openssl-libs")
    log.log("INFO", f"Installing {len(packages) + 2} updates")
    log.raw(
        "Loaded plugins: extras_suggestions, langpacks, priorities, update-motd", "Resolving Dependencies"
    )
    log.raw(
        "--> Running transaction check",
        "---> Package kernel.x86_64 0:5.10.217-205.860.amzn2 will be installed",
    )
    log.raw(
        f"---> Package openssl-libs.x86_64 1:{broken.old} will be updated",
        f"---> Package openssl-libs.x86_64 1:{broken.new} will be an update",
        "--> Finished Dependency Resolution",
        "Running transaction check",
        "Running transaction test",
        "",
        "",
        "Transaction check error:",
        f"  file /usr/lib64/libssl.so.10 from install of openssl-libs-1:{broken.new}.x86_64 conflicts with "
        "file from package compat-openssl10-1:1.0.2o-3.amzn2.x86_64",
        "",
        "Error Summary",
        "-------------",
        "",
    )
    log.tick(60, 240)
    log.log("ERROR", f"Failed to install package openssl-libs.x86_64 1:{broken.new}")
    log.log("ERROR", f"Failed to install package openssl.x86_64 1:{broken.new}", high=0.1)
    log.log("INFO", f"Installed {len(packages)} of {len(packages) + 2} updates", low=5, high=20)
    _summary_line(
        log, context, started, installed=rng.randint(300, 450), failed=2, pending_reboot=len(packages)
    )
    log.log("INFO", "Reboot is required, rebooting the instance", high=0.1)
    return failed_result(linux_patch_steps(patch_linux("Failed", 195, log.text())))


_LARGE_LOG_CAUSE = "Patch operation failed: [Errno 28] No space left on device"


def large_patch_log(host: Host, context: TaskContext, size_bytes: int) -> str:
    """An AWS-RunPatchBaseline log of about `size_bytes` (package transaction lines) whose cause,
    a full disk, is only at the end. Built from a fixed pool of lines: ~0.1 s per 10 MB."""
    rng = seeded(context.seed, context.task, "large-log", host.index)
    started = step_start(context, rng)
    log = _Log(started, rng)
    _linux_header(log, DISTROS["amazon-linux-2"], host, context)
    log.log("INFO", "Installing updates from 14 repositories (including the application mirror)")
    log.raw("Loaded plugins: extras_suggestions, langpacks, priorities, update-motd", "Running transaction")
    head = "\n".join(log.lines) + "\n"
    pool = [
        f"  {verb:<10} : {p.name}-{p.new}.{p.arch}".ljust(68)
        for p in AL2_PACKAGES
        for verb in ("Updating", "Verifying", "Cleanup")
    ]
    available = max(0, size_bytes - len(head) - 640)  # 640: about the closing lines
    width = len(str(available // (len(pool[0]) + 4)))
    count = max(1, available // (len(pool[0]) + 2 * width + 2))  # entry, "<i>/<count>\n"
    body = "".join(f"{pool[i % len(pool)]}{i + 1:>{width}}/{count}\n" for i in range(count))
    tail = _Log(started + timedelta(minutes=47), rng)
    tail.raw(
        "Error unpacking rpm package kernel-5.10.218-208.862.amzn2.x86_64",
        "error: unpacking of archive failed on file /boot/System.map-5.10.218-208.862.amzn2.x86_64;6668a9c1: "
        "cpio: write failed - No space left on device",
        "error: kernel-5.10.218-208.862.amzn2.x86_64: install failed",
    )
    tail.log("ERROR", "Error code returned from yum install: 1")
    tail.log("ERROR", _LARGE_LOG_CAUSE, high=0.1)
    return head + body + tail.text()


def large_log(host: Host, context: TaskContext, rng: random.Random, size_mb: float | None) -> InstanceResult:
    size = int((size_mb if size_mb is not None else LARGE_LOG_DEFAULT_MB) * 1024 * 1024)
    stdout = large_patch_log(host, context, size)
    return failed_result(linux_patch_steps(patch_linux("Failed", 1, stdout)))


def interrupted_patch_log(host: Host, context: TaskContext, rng: random.Random) -> str:
    """What a Linux patch run had written when it was stopped: its header and part of a yum
    transaction."""
    distro = DISTROS["amazon-linux-2"]
    log = _Log(step_start(context, rng), rng)
    _linux_header(log, distro, host, context)
    packages = _updates(distro, rng, 6, 14)
    log.log("INFO", f"Installing {len(packages)} updates")
    _yum_transaction(log, packages, stop_after=rng.randint(1, len(packages)))
    return log.text()
