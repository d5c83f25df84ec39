"""What the SSM agent writes for each way a command of the window can end on one instance.

For the window's two documents (AWS-RunPatchBaseline and our healthcheck) this module builds
the `local.simulator.Outcome` of one instance: invocation status and details, and every step of
the document as the agent reports it (name, action, status, response code, full stdout and
stderr). Texts follow aws-ssm-facts.md section 4 and the fixtures in tests/fixtures/logs; the
healthcheck lines are exactly what documents/scripts/healthcheck.{sh,ps1} print, and on an EC2
Mac instance what the document's own RunMacOSHealthcheck script prints (run, not retyped).

Deterministic: every variation (package lists, free-space figures, retry counts, timestamps
after the task's start) comes from `random.Random` seeded with the night's seed, the task, the
outcome kind and the instance's index in the fleet, never from the clock or the hash seed.

Kinds are listed in `KINDS` (name -> tasks, platforms, the invocation status it ends with);
`outcome(kind, host, context)` builds one.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType

from local import documents
from local.simulator import Outcome, Step, skipped

__all__ = [
    "HEALTHCHECK",
    "KINDS",
    "LINUX",
    "MACOS",
    "PATCH",
    "WINDOWS",
    "HealthcheckSettings",
    "Host",
    "Kind",
    "TaskContext",
    "default_kind",
    "healthcheck_pass_stdout",
    "large_patch_log",
    "outcome",
    "seeded",
]

PATCH, HEALTHCHECK = "patch", "healthcheck"
LINUX, WINDOWS, MACOS = "linux", "windows", "macos"
SHELL, POWERSHELL, DOWNLOAD = "aws:runShellScript", "aws:runPowerShellScript", "aws:downloadContent"

# The agent's exit code for a step stopped before it finished (timeout or cancel): SIGKILL on
# Linux, -1 on Windows (amazon-ssm-agent appconfig, CommandStoppedPreemptivelyExitCode).
STOPPED_EXIT_CODE = {LINUX: 137, WINDOWS: -1}
WINDOWS_FAILED_EXIT_CODE = -1  # "failed to run commands: exit status 4294967295"
HEALTHCHECK_SCRIPT = {
    LINUX: "/var/lib/amazon/ssm/hygiene/healthcheck.sh",
    WINDOWS: r"C:\ProgramData\Amazon\SSM\hygiene\healthcheck.ps1",
}
LARGE_LOG_DEFAULT_MB = 8.0


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
    build: Callable[[Host, TaskContext, random.Random, float | None], Outcome] = field(repr=False)
    needs: Callable[[TaskContext], str | None] = field(repr=False)
    """Why the kind cannot happen with these parameters (None: it can)."""

    @property
    def failed(self) -> bool:
        return self.status != "Success"


# --------------------------------------------------------------------------- time and lines


def _stamp(moment: datetime) -> str:
    return moment.strftime("%m/%d/%Y %H:%M:%S")


def _iso(moment: datetime, digits: int = 6) -> str:
    fraction = f"{moment.microsecond:06d}{'0' * max(0, digits - 6)}"[:digits]
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"


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


def _start(context: TaskContext, rng: random.Random) -> datetime:
    """When the step started on this instance: within two minutes of the task's start."""
    return context.started + timedelta(seconds=rng.uniform(3, 120))


# --------------------------------------------------------------------------- Linux distributions


@dataclass(frozen=True)
class _Package:
    name: str
    old: str
    new: str
    epoch: str = "0"
    arch: str = "x86_64"


@dataclass(frozen=True)
class _Distro:
    key: str
    product: str
    os_line: str
    manager: str
    binaries: tuple[str, ...]
    python: str
    packages: tuple[_Package, ...]
    ssm_unit: str


_AL2_PACKAGES = (
    _Package("curl", "8.3.0-1.amzn2.0.4", "8.3.0-1.amzn2.0.5"),
    _Package("libcurl", "8.3.0-1.amzn2.0.4", "8.3.0-1.amzn2.0.5"),
    _Package("openssh", "7.4p1-22.amzn2.0.5", "7.4p1-22.amzn2.0.6"),
    _Package("openssh-server", "7.4p1-22.amzn2.0.5", "7.4p1-22.amzn2.0.6"),
    _Package("openssh-clients", "7.4p1-22.amzn2.0.5", "7.4p1-22.amzn2.0.6"),
    _Package("openssl-libs", "1.0.2k-24.amzn2.0.11", "1.0.2k-24.amzn2.0.12", epoch="1"),
    _Package("glibc", "2.26-64.amzn2.0.1", "2.26-64.amzn2.0.2"),
    _Package("glibc-common", "2.26-64.amzn2.0.1", "2.26-64.amzn2.0.2"),
    _Package("python", "2.7.18-1.amzn2.0.8", "2.7.18-1.amzn2.0.9"),
    _Package("python-libs", "2.7.18-1.amzn2.0.8", "2.7.18-1.amzn2.0.9"),
    _Package("sudo", "1.8.23-10.amzn2.3.2", "1.8.23-10.amzn2.3.3"),
    _Package("systemd", "219-78.amzn2.0.21", "219-78.amzn2.0.22"),
    _Package("systemd-libs", "219-78.amzn2.0.21", "219-78.amzn2.0.22"),
    _Package("vim-minimal", "9.0.2120-1.amzn2.0.1", "9.0.2153-1.amzn2.0.1", epoch="2"),
    _Package("tzdata", "2024a-1.amzn2", "2024b-1.amzn2", arch="noarch"),
    _Package("ca-certificates", "2023.2.62-1.amzn2.0.1", "2023.2.64-1.amzn2.0.1", arch="noarch"),
    _Package("expat", "2.1.0-15.amzn2.0.2", "2.1.0-15.amzn2.0.3"),
    _Package("libxml2", "2.9.1-6.amzn2.5.12", "2.9.1-6.amzn2.5.13"),
    _Package("nss", "3.90.0-2.amzn2.0.1", "3.90.0-2.amzn2.0.2"),
    _Package("krb5-libs", "1.15.1-55.amzn2.2.7", "1.15.1-55.amzn2.2.8"),
    _Package("amazon-ssm-agent", "3.3.380.0-1.amzn2", "3.3.987.0-1.amzn2"),
    _Package("bind-libs", "9.11.4-26.P2.amzn2.13.4", "9.11.4-26.P2.amzn2.13.5", epoch="32"),
    _Package("git", "2.40.1-1.amzn2.0.1", "2.40.1-1.amzn2.0.3"),
    _Package("libssh2", "1.4.3-12.amzn2.2.4", "1.4.3-12.amzn2.2.5"),
    _Package("zlib", "1.2.7-19.amzn2.0.2", "1.2.7-19.amzn2.0.3"),
)
_AL2023_PACKAGES = (
    _Package("curl-minimal", "8.5.0-1.amzn2023.0.2", "8.5.0-1.amzn2023.0.4"),
    _Package("libcurl-minimal", "8.5.0-1.amzn2023.0.2", "8.5.0-1.amzn2023.0.4"),
    _Package("openssl-libs", "3.0.8-1.amzn2023.0.11", "3.0.8-1.amzn2023.0.12", epoch="1"),
    _Package("glibc", "2.34-52.amzn2023.0.8", "2.34-52.amzn2023.0.10"),
    _Package("glibc-common", "2.34-52.amzn2023.0.8", "2.34-52.amzn2023.0.10"),
    _Package("python3", "3.9.16-1.amzn2023.0.6", "3.9.16-1.amzn2023.0.8"),
    _Package("python3-libs", "3.9.16-1.amzn2023.0.6", "3.9.16-1.amzn2023.0.8"),
    _Package("systemd", "252.16-1.amzn2023.0.1", "252.16-1.amzn2023.0.2"),
    _Package("sudo", "1.9.15-1.p5.amzn2023.0.1", "1.9.15-1.p5.amzn2023.0.2"),
    _Package("amazon-ssm-agent", "3.3.380.0-1.amzn2023", "3.3.987.0-1.amzn2023"),
    _Package("kernel6.1", "6.1.91-99.172.amzn2023", "6.1.92-99.174.amzn2023"),
    _Package("vim-minimal", "9.0.2153-1.amzn2023.0.1", "9.1.083-1.amzn2023.0.1", epoch="2"),
)
_UBUNTU_PACKAGES = (
    _Package("libssl3", "3.0.2-0ubuntu1.14", "3.0.2-0ubuntu1.15", arch="amd64"),
    _Package("openssl", "3.0.2-0ubuntu1.14", "3.0.2-0ubuntu1.15", arch="amd64"),
    _Package("libc6", "2.35-0ubuntu3.6", "2.35-0ubuntu3.7", arch="amd64"),
    _Package("libc-bin", "2.35-0ubuntu3.6", "2.35-0ubuntu3.7", arch="amd64"),
    _Package("curl", "7.81.0-1ubuntu1.15", "7.81.0-1ubuntu1.16", arch="amd64"),
    _Package("libcurl4", "7.81.0-1ubuntu1.15", "7.81.0-1ubuntu1.16", arch="amd64"),
    _Package("sudo", "1.9.9-1ubuntu2.3", "1.9.9-1ubuntu2.4", arch="amd64"),
    _Package("systemd", "249.11-0ubuntu3.11", "249.11-0ubuntu3.12", arch="amd64"),
    _Package("libsystemd0", "249.11-0ubuntu3.11", "249.11-0ubuntu3.12", arch="amd64"),
    _Package("tzdata", "2024a-0ubuntu0.22.04", "2024a-0ubuntu0.22.04.1", arch="all"),
    _Package("openssh-server", "1:8.9p1-3ubuntu0.7", "1:8.9p1-3ubuntu0.10", arch="amd64"),
)

_DISTROS = {
    "amazon-linux-2": _Distro(
        "amazon-linux-2",
        "AmazonLinux2",
        "amazon_linux 2",
        "yum",
        ("/usr/bin/python3", "/usr/bin/yum"),
        "3.7.16",
        _AL2_PACKAGES,
        "amazon-ssm-agent",
    ),
    "amazon-linux-2023": _Distro(
        "amazon-linux-2023",
        "AmazonLinux2023",
        "amazon_linux 2023",
        "dnf",
        ("/usr/bin/python3", "/usr/bin/dnf"),
        "3.9.16",
        _AL2023_PACKAGES,
        "amazon-ssm-agent",
    ),
    "ubuntu-22.04": _Distro(
        "ubuntu-22.04",
        "Ubuntu",
        "ubuntu 22.04",
        "apt",
        ("/usr/bin/python3", "/usr/bin/apt-get", "/usr/bin/dpkg"),
        "3.10.12",
        _UBUNTU_PACKAGES,
        "snap.amazon-ssm-agent.amazon-ssm-agent",
    ),
}


def _distro_of(host: Host) -> _Distro:
    """The Linux distribution of a host whose outcome does not force one: mostly Amazon Linux 2."""
    return _DISTROS[
        ("amazon-linux-2", "amazon-linux-2", "amazon-linux-2023", "amazon-linux-2", "ubuntu-22.04")[
            host.index % 5
        ]
    ]


def _payload_url(region: str) -> str:
    return (
        f"https://s3.dualstack.{region}.amazonaws.com/aws-ssm-{region}/patchbaselineoperations/"
        "linux/payloads/patch-baseline-operations-1.192.tar.gz"
    )


def _linux_header(log: _Log, distro: _Distro, host: Host, context: TaskContext) -> None:
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
        "OperationStartTime": _iso(started),
        "OperationEndTime": _iso(log.now),
    }
    log.log("INFO", f"Summary: {summary!r}", high=0.3)


def _yum_transaction(log: _Log, packages: list[_Package], *, stop_after: int | None = None) -> bool:
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


def _dnf_transaction(log: _Log, packages: list[_Package]) -> None:
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


def _apt_transaction(log: _Log, packages: list[_Package], region: str) -> None:
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


def _updates(distro: _Distro, rng: random.Random, low: int = 1, high: int = 9) -> list[_Package]:
    count = min(len(distro.packages), rng.randint(low, high))
    return sorted(rng.sample(distro.packages, count), key=lambda p: p.name)


def _linux_patch_steps(step: Step) -> tuple[Step, ...]:
    return (step, skipped("PatchWindows", POWERSHELL, "Windows"), skipped("PatchMacOS", SHELL, "MacOS"))


def _windows_patch_steps(step: Step) -> tuple[Step, ...]:
    return (skipped("PatchLinux", SHELL, "Linux"), step, skipped("PatchMacOS", SHELL, "MacOS"))


def _patch_linux(status: str, code: int, stdout: str, stderr: str = "") -> Step:
    return Step("PatchLinux", SHELL, status=status, response_code=code, stdout=stdout, stderr=stderr)


def _patch_windows(status: str, code: int, stdout: str, stderr: str = "") -> Step:
    return Step("PatchWindows", POWERSHELL, status=status, response_code=code, stdout=stdout, stderr=stderr)


def _failed(steps: tuple[Step, ...]) -> Outcome:
    return Outcome("Failed", "Failed", steps)


def _agent_exit(code: int) -> str:
    """The line the agent appends to stderr when a script exits non-zero."""
    return f"failed to run commands: exit status {code & 0xFFFFFFFF if code < 0 else code}\n"


# --------------------------------------------------------------------------- patch: Linux


def _linux_success_log(host: Host, context: TaskContext, rng: random.Random) -> str:
    distro = _distro_of(host)
    started = _start(context, rng)
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


def _linux_patch_success(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
    return Outcome(
        "Success",
        "Success",
        _linux_patch_steps(_patch_linux("Success", 0, _linux_success_log(host, context, rng))),
    )


def _yum_lock(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
    log = _Log(_start(context, rng), rng)
    _linux_header(log, _DISTROS["amazon-linux-2"], host, context)
    log.log("INFO", "Attempting to acquire yum lock")
    for _retry in range(rng.randint(8, 15)):
        log.log("INFO", "another process has acquired yum lock, waiting 2 s and retry.", low=2, high=2)
    log.log(
        "ERROR", f"Existing lock /var/run/yum.pid: another copy is running as pid {rng.randint(900, 32000)}."
    )
    log.log("ERROR", "Patch operation failed: unable to acquire yum lock", high=0.1)
    return _failed(_linux_patch_steps(_patch_linux("Failed", 1, log.text())))


def _no_mirrors(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
    log = _Log(_start(context, rng), rng)
    _linux_header(log, _DISTROS["amazon-linux-2"], host, context)
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
    return _failed(_linux_patch_steps(_patch_linux("Failed", 1, log.text())))


def _apt_python3(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
    stdout = "/usr/bin/apt-get\n/usr/bin/dpkg\n"
    stderr = (
        "/bin/sh: 1: python3: not found\n/bin/sh: 1: python2: not found\n/bin/sh: 1: python: not found\n"
        "Apt requires Python3 to be installed\n" + _agent_exit(1)
    )
    return _failed(_linux_patch_steps(_patch_linux("Failed", 1, stdout, stderr)))


def _script_path(host: Host, context: TaskContext, step: str) -> str:
    orchestration = f"/var/lib/amazon/ssm/{host.instance_id}/document/orchestration"
    return f"{orchestration}/{context.command_id}/{step}/_script.sh"


def _permission_denied(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
    stderr = f"sh: 1: {_script_path(host, context, 'PatchLinux')}: Permission denied\n" + _agent_exit(126)
    return _failed(_linux_patch_steps(_patch_linux("Failed", 126, "", stderr)))


def _reboot_with_failures(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
    started = _start(context, rng)
    log = _Log(started, rng)
    _linux_header(log, _DISTROS["amazon-linux-2"], host, context)
    packages = _updates(_DISTROS["amazon-linux-2"], rng, 4, 12)
    broken = next(p for p in _AL2_PACKAGES if p.name == "openssl-libs")
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
    return _failed(_linux_patch_steps(_patch_linux("Failed", 195, log.text())))


_LARGE_LOG_CAUSE = "Patch operation failed: [Errno 28] No space left on device"


def large_patch_log(host: Host, context: TaskContext, size_bytes: int) -> str:
    """An AWS-RunPatchBaseline log of about `size_bytes` (package transaction lines) whose cause,
    a full disk, is only at the end. Built from a fixed pool of lines: ~0.1 s per 10 MB."""
    rng = seeded(context.seed, context.task, "large-log", host.index)
    started = _start(context, rng)
    log = _Log(started, rng)
    _linux_header(log, _DISTROS["amazon-linux-2"], host, context)
    log.log("INFO", "Installing updates from 14 repositories (including the application mirror)")
    log.raw("Loaded plugins: extras_suggestions, langpacks, priorities, update-motd", "Running transaction")
    head = "\n".join(log.lines) + "\n"
    pool = [
        f"  {verb:<10} : {p.name}-{p.new}.{p.arch}".ljust(68)
        for p in _AL2_PACKAGES
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


def _large_log(host: Host, context: TaskContext, rng: random.Random, size_mb: float | None) -> Outcome:
    size = int((size_mb if size_mb is not None else LARGE_LOG_DEFAULT_MB) * 1024 * 1024)
    stdout = large_patch_log(host, context, size)
    return _failed(_linux_patch_steps(_patch_linux("Failed", 1, stdout)))


# --------------------------------------------------------------------------- patch: Windows

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
        ("OperationStartTime", _iso(started, 7)),
        ("OperationEndTime", _iso(ended, 7)),
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


def _windows_success(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
    started = _start(context, rng)
    ended = started + timedelta(minutes=rng.uniform(8, 45))
    lines = _windows_summary(host, context, rng, started, ended, failed=False)
    if context.operation == "Install":
        lines += [
            "",
            f"{host.hostname} - PatchBaselineOperations Installation Results - {_iso(ended, 7)}",
            "",
        ]
        lines += [
            "KbArticleId Installed  FailedToInstall Title",
            "----------- ---------  --------------- -----",
        ]
        for kb, title in rng.sample(_KBS, rng.randint(1, len(_KBS))):
            lines.append(f"{kb:<11} True       False           {title}")
    stdout = "\n".join(lines) + "\n"
    return Outcome("Success", "Success", _windows_patch_steps(_patch_windows("Success", 0, stdout)))


def _windows_update_error(
    hresult: str,
) -> Callable[[Host, TaskContext, random.Random, float | None], Outcome]:
    def build(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
        started = _start(context, rng)
        ended = started + timedelta(minutes=rng.uniform(1, 4))
        stdout_lines = _windows_summary(host, context, rng, started, ended, failed=True)
        stdout_lines += [
            "",
            f"{host.hostname} - PatchBaselineOperations Installation Results - {_iso(ended, 7)}",
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
        stderr = "\n".join(stderr_lines) + "\n" + _agent_exit(WINDOWS_FAILED_EXIT_CODE)
        return _failed(
            _windows_patch_steps(_patch_windows("Failed", WINDOWS_FAILED_EXIT_CODE, stdout, stderr))
        )

    return build


# --------------------------------------------------------------------------- healthcheck


def _healthcheck_steps(platform: str, run: Step | None, *, download: Step | None = None) -> tuple[Step, ...]:
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


def _macos_healthcheck(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
    """The document has no healthcheck script for macOS: its RunMacOSHealthcheck step fails."""
    ran = documents.run_step("RunMacOSHealthcheck")
    stderr = ran.stderr + _agent_exit(ran.exit_code)
    run = Step("RunMacOSHealthcheck", SHELL, "Failed", ran.exit_code, ran.stdout, stderr)
    return _failed(_healthcheck_steps(MACOS, run))


def _run_step(platform: str, status: str, code: int, stdout: str, stderr: str = "") -> Step:
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
        unit = _distro_of(host).ssm_unit
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


def _healthcheck_success(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
    run = _run_step(host.platform, "Success", 0, healthcheck_pass_stdout(host, context, rng))
    return Outcome("Success", "Success", _healthcheck_steps(host.platform, run))


def _healthcheck_failure(check: str) -> Callable[[Host, TaskContext, random.Random, float | None], Outcome]:
    def build(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
        checks = _checks(host, context.healthcheck, rng, check)
        failed = [c.name for c in checks if c.result == "FAIL"]
        final = f"HEALTHCHECK FAIL {len(failed)} of {len(checks)} checks failed: {', '.join(failed)}"
        stdout = "\n".join([*_check_lines(checks), final]) + "\n"
        run = _run_step(host.platform, "Failed", 1, stdout, final + "\n" + _agent_exit(1))
        return _failed(_healthcheck_steps(host.platform, run))

    return build


def _script_missing(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
    stderr = f"healthcheck script missing: {HEALTHCHECK_SCRIPT[host.platform]}\n" + _agent_exit(3)
    return _failed(_healthcheck_steps(host.platform, _run_step(host.platform, "Failed", 3, "", stderr)))


def _needs_services(context: TaskContext) -> str | None:
    return None if context.healthcheck.required_services else "needs RequiredServices (no service is checked)"


def _needs_reboot_enforced(context: TaskContext) -> str | None:
    return None if context.healthcheck.fail_on_pending_reboot else "needs FailOnPendingReboot=true"


# --------------------------------------------------------------------------- any task


def _partial_stdout(host: Host, context: TaskContext, rng: random.Random) -> str:
    """What a step had written when it was stopped: the first half of a normal run's output."""
    if context.task == HEALTHCHECK:
        lines = healthcheck_pass_stdout(host, context, rng).splitlines()[: rng.randint(1, 3)]
        return "\n".join(lines) + "\n"
    if host.platform == WINDOWS:
        return ""  # the Windows patch run prints its summary only at the end
    distro = _DISTROS["amazon-linux-2"]
    log = _Log(_start(context, rng), rng)
    _linux_header(log, distro, host, context)
    packages = _updates(distro, rng, 6, 14)
    log.log("INFO", f"Installing {len(packages)} updates")
    _yum_transaction(log, packages, stop_after=rng.randint(1, len(packages)))
    return log.text()


def _stopped(
    status: str, details: str
) -> Callable[[Host, TaskContext, random.Random, float | None], Outcome]:
    """A step stopped by a timeout or a cancel, with the output written so far."""

    def build(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
        code = STOPPED_EXIT_CODE[host.platform]
        stdout = _partial_stdout(host, context, rng)
        if context.task == PATCH:
            step = (_patch_linux if host.platform == LINUX else _patch_windows)(status, code, stdout)
            steps = (_linux_patch_steps if host.platform == LINUX else _windows_patch_steps)(step)
        else:
            steps = _healthcheck_steps(host.platform, _run_step(host.platform, status, code, stdout))
        return Outcome(status, details, steps)

    return build


def _cancelled(host: Host, context: TaskContext, rng: random.Random, size_mb: float | None) -> Outcome:
    """Cancelled (CancelCommand, e.g. at the window's cutoff): every other instance had not
    started yet (no step, no output), the rest were stopped mid-run."""
    if host.index % 2:
        return Outcome("Cancelled", "Cancelled")
    return _stopped("Cancelled", "Cancelled")(host, context, rng, size_mb)


def _delivery_timed_out(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> Outcome:
    """The instance never picked the command up (stopped, or its agent offline): no step ran."""
    return Outcome("TimedOut", "Delivery Timed Out")


def _no_s3_permission(host: Host, context: TaskContext, rng: random.Random, size_mb: float | None) -> Outcome:
    """The run fails (Linux: the agent's script is not executable; Windows: Windows Update
    search) and the instance role cannot write to the bucket: no object at all in S3."""
    if host.platform == LINUX:
        failed = _permission_denied(host, context, rng, size_mb)
    else:
        failed = _windows_update_error("0x80240437")(host, context, rng, size_mb)
    return replace(failed, logs_reach_s3=False)


# --------------------------------------------------------------------------- the catalogue

_BOTH = (LINUX, WINDOWS)
_ALL_TASKS = frozenset({PATCH, HEALTHCHECK})
_PATCH_ONLY = frozenset({PATCH})
_HEALTHCHECK_ONLY = frozenset({HEALTHCHECK})
_Build = Callable[[Host, TaskContext, random.Random, float | None], Outcome]


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
        _failure("yum-lock", _PATCH_ONLY, (LINUX,), "yum lock held by another process, exit 1", _yum_lock),
        _failure(
            "no-mirrors", _PATCH_ONLY, (LINUX,), "[Errno 256] No more mirrors to try., exit 1", _no_mirrors
        ),
        _failure(
            "apt-python3", _PATCH_ONLY, (LINUX,), "Apt requires Python3 to be installed, exit 1", _apt_python3
        ),
        _failure(
            "script-permission-denied",
            _PATCH_ONLY,
            (LINUX,),
            "_script.sh: Permission denied (noexec /var/lib/amazon), exit 126",
            _permission_denied,
        ),
        _failure(
            "reboot-with-failures",
            _PATCH_ONLY,
            (LINUX,),
            "two packages failed to install, reboot requested, exit 195",
            _reboot_with_failures,
        ),
        _failure(
            "large-log",
            _PATCH_ONLY,
            (LINUX,),
            "a huge log (size_mb, default 8) with the cause, a full disk, at its end, exit 1",
            _large_log,
        ),
        _failure(
            "windows-update-search",
            _PATCH_ONLY,
            (WINDOWS,),
            "Windows Update search failed, HRESULT 0x80240437, exit 4294967295 (-1)",
            _windows_update_error("0x80240437"),
        ),
        _failure(
            "windows-update-offline",
            _PATCH_ONLY,
            (WINDOWS,),
            "Windows Update unreachable, HRESULT 0x80072EE2, exit 4294967295 (-1)",
            _windows_update_error("0x80072EE2"),
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
            _healthcheck_failure("disk"),
        ),
        _failure(
            "healthcheck-memory",
            _HEALTHCHECK_ONLY,
            _BOTH,
            "CHECK memory FAIL below MinFreeMemoryPercent, exit 1",
            _healthcheck_failure("memory"),
        ),
        _failure(
            "healthcheck-service",
            _HEALTHCHECK_ONLY,
            _BOTH,
            "the last of RequiredServices is not running, exit 1",
            _healthcheck_failure("service"),
            needs=_needs_services,
        ),
        _failure(
            "healthcheck-reboot",
            _HEALTHCHECK_ONLY,
            _BOTH,
            "CHECK pending-reboot FAIL (FailOnPendingReboot=true), exit 1",
            _healthcheck_failure("reboot"),
            needs=_needs_reboot_enforced,
        ),
        _failure(
            "healthcheck-script-missing",
            _HEALTHCHECK_ONLY,
            _BOTH,
            "the downloaded script is empty: healthcheck script missing, exit 3",
            _script_missing,
        ),
        _failure(
            "healthcheck-macos",
            _HEALTHCHECK_ONLY,
            (MACOS,),
            "RunMacOSHealthcheck: CHECK platform:macOS FAIL (no macOS script), exit 1",
            _macos_healthcheck,
        ),
        # either task
        Kind(
            "timed-out-execution",
            _ALL_TASKS,
            _BOTH,
            "TimedOut",
            "Execution Timed Out",
            "the step ran past its timeout and was killed (exit 137 / -1), partial output",
            _stopped("TimedOut", "Execution Timed Out"),
            _always,
        ),
        Kind(
            "delivery-timed-out",
            _ALL_TASKS,
            (*_BOTH, MACOS),
            "TimedOut",
            "Delivery Timed Out",
            "the instance never picked the command up (it is stopped): no step, no output",
            _delivery_timed_out,
            _always,
        ),
        Kind(
            "cancelled",
            _ALL_TASKS,
            _BOTH,
            "Cancelled",
            "Cancelled",
            "CancelCommand (cutoff with CANCEL_TASK): every other one mid-run with partial output",
            _cancelled,
            _always,
        ),
    ]
    return {kind.name: kind for kind in kinds}


def _success(host: Host, context: TaskContext, rng: random.Random, size_mb: float | None) -> Outcome:
    if host.platform == MACOS:
        if context.task == HEALTHCHECK:
            raise ValueError("a macOS node cannot pass the healthcheck: the document fails there")
        # PatchMacOS succeeds. Its output is not modelled (no public sample to follow): the step
        # prints nothing and so, like any empty stream, leaves nothing in S3.
        linux, windows = skipped("PatchLinux", SHELL, "Linux"), skipped("PatchWindows", POWERSHELL, "Windows")
        return Outcome("Success", "Success", (linux, windows, Step("PatchMacOS", SHELL)))
    if context.task == HEALTHCHECK:
        return _healthcheck_success(host, context, rng, size_mb)
    if host.platform == WINDOWS:
        return _windows_success(host, context, rng, size_mb)
    return _linux_patch_success(host, context, rng, size_mb)


KINDS: Mapping[str, Kind] = MappingProxyType(_catalogue())
"""Every outcome kind by name."""


def default_kind(task: str, platform: str) -> str:
    """How an instance no outcome is listed for ends the task: it succeeds, except that a macOS
    node always fails the healthcheck (healthcheck-macos: the document has no check for it)."""
    return "healthcheck-macos" if task == HEALTHCHECK and platform == MACOS else "success"


def outcome(kind: str, host: Host, context: TaskContext, *, size_mb: float | None = None) -> Outcome:
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
