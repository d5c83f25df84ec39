"""Runs documents/scripts/healthcheck.sh with bash against a fake Linux host, and the document's
Linux run step (its SHA-256 check) with bash and sh.

The fake host is a directory of stub commands that is the whole of PATH (the script needs
nothing else: it uses bash builtins only), plus a meminfo file and a reboot-required marker
path handed over through the script's HYGIENE_* environment overrides.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from instance_hygiene.explain.summarise import StreamText, summarise_failure

SCRIPT = Path(__file__).resolve().parents[3] / "documents" / "scripts" / "healthcheck.sh"
BASH = shutil.which("bash")

pytestmark = pytest.mark.skipif(BASH is None, reason="bash is not installed: healthcheck.sh cannot run")

DF_HEADER = "Filesystem     1024-blocks    Used Available Capacity Mounted on"
ROOT_60_PERCENT_FREE = "/dev/nvme0n1p1    10000000 4000000   6000000      40% /"
DATA_50_PERCENT_FREE = "/dev/nvme1n1     20000000 10000000 10000000      50% /data"
DATA_4_PERCENT_FREE = "/dev/nvme1n1     20000000 19200000   800000      96% /data"
HEALTH_URL = "http://localhost:8080/health"

ALL_PASS_CHECKS = [
    "CHECK ssm-agent PASS unit=amazon-ssm-agent state=active",
    "CHECK disk:/ PASS free=60% threshold=10% mount=/",
    "CHECK disk:/data PASS free=50% threshold=10% mount=/data",
    "CHECK memory PASS available=50% threshold=5%",
    "CHECK pending-reboot PASS no reboot pending",
    "CHECK service:nginx PASS state=active",
    "CHECK service:sshd PASS state=active",
    f"CHECK http PASS status=200 url={HEALTH_URL}",
]
ALL_PASS_ARGS = ["--required-services", "nginx,sshd", "--http-endpoint", HEALTH_URL]


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def checks(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("CHECK ")]

    @property
    def final_line(self) -> str:
        return self.stdout.splitlines()[-1]


@dataclass
class FakeHost:
    """A Linux host made of stub commands; defaults describe a healthy instance."""

    root: Path
    unit_states: dict[str, str] = field(default_factory=dict)

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def meminfo(self) -> Path:
        return self.root / "meminfo"

    @property
    def reboot_marker(self) -> Path:
        return self.root / "reboot-required"

    @property
    def stub_log(self) -> Path:
        return self.root / "stub-calls.log"

    def stub(self, name: str, stdout: str = "", exit_code: int = 0) -> None:
        """Installs a command that logs its arguments, prints stdout and exits exit_code."""
        body = f"printf '%s\\n' {shlex.quote(stdout)}\n" if stdout else ""
        self._write_command(name, f"{body}exit {exit_code}\n")

    def remove(self, name: str) -> None:
        (self.bin_dir / name).unlink()

    def set_unit_state(self, unit: str, state: str) -> None:
        """Sets what `systemctl is-active <unit>` answers (exit 0 only for active)."""
        self.unit_states[unit] = state
        cases = "".join(
            f"  {shlex.quote(name)}) echo {shlex.quote(value)}; exit {0 if value == 'active' else 3} ;;\n"
            for name, value in self.unit_states.items()
        )
        self._write_command(
            "systemctl",
            f'for unit in "$@"; do :; done\ncase "$unit" in\n{cases}  *) echo inactive; exit 3 ;;\nesac\n',
        )

    def df(self, *lines: str, exit_code: int = 0) -> None:
        self.stub("df", "\n".join([DF_HEADER, *lines]), exit_code)

    def write_meminfo(self, total_kb: int, available_kb: int) -> None:
        self.meminfo.write_text(
            f"MemTotal:       {total_kb} kB\n"
            f"MemFree:        {available_kb // 2} kB\n"
            f"MemAvailable:   {available_kb} kB\n"
            "Buffers:           2048 kB\n"
        )

    def calls(self) -> list[str]:
        return self.stub_log.read_text().splitlines() if self.stub_log.exists() else []

    def run(self, *args: str) -> Run:
        assert BASH is not None
        completed = subprocess.run(
            [BASH, str(SCRIPT), *args],
            env={
                "PATH": str(self.bin_dir),
                "HYGIENE_PROC_MEMINFO": str(self.meminfo),
                "HYGIENE_REBOOT_REQUIRED_FILE": str(self.reboot_marker),
                "STUB_LOG": str(self.stub_log),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Run(completed.returncode, completed.stdout, completed.stderr)

    def _write_command(self, name: str, body: str) -> None:
        path = self.bin_dir / name
        path.write_text(f'#!/bin/sh\necho "{name} $*" >> "$STUB_LOG"\n{body}')
        path.chmod(0o755)


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    fake = FakeHost(tmp_path)
    fake.bin_dir.mkdir()
    for unit in ("amazon-ssm-agent", "nginx", "sshd"):
        fake.set_unit_state(unit, "active")
    fake.stub("pgrep", exit_code=0)
    fake.df(ROOT_60_PERCENT_FREE, DATA_50_PERCENT_FREE)
    fake.write_meminfo(total_kb=8_000_000, available_kb=4_000_000)
    fake.stub("needs-restarting", exit_code=0)
    fake.stub("curl", "200", exit_code=0)
    return fake


def test_all_checks_pass(host: FakeHost) -> None:
    # Given a healthy host
    # When the healthcheck runs with required services and an HTTP endpoint
    run = host.run(*ALL_PASS_ARGS)
    # Then every check passes, the run ends with the PASS line and exits 0
    assert run.checks == ALL_PASS_CHECKS
    assert run.final_line == "HEALTHCHECK PASS 8 checks"
    assert run.stdout.splitlines() == [*ALL_PASS_CHECKS, "HEALTHCHECK PASS 8 checks"]
    assert run.stderr == ""
    assert run.exit_code == 0


def test_defaults_skip_http_and_check_no_service(host: FakeHost) -> None:
    # Given a healthy host
    # When the healthcheck runs without any argument
    run = host.run()
    # Then no service is checked, the HTTP check is skipped and the run passes
    assert run.checks == [
        "CHECK ssm-agent PASS unit=amazon-ssm-agent state=active",
        "CHECK disk:/ PASS free=60% threshold=10% mount=/",
        "CHECK disk:/data PASS free=50% threshold=10% mount=/data",
        "CHECK memory PASS available=50% threshold=5%",
        "CHECK pending-reboot PASS no reboot pending",
        "CHECK http SKIP no endpoint configured",
    ]
    assert run.final_line == "HEALTHCHECK PASS 6 checks"
    assert run.exit_code == 0
    assert not any(call.startswith("curl") for call in host.calls())


def test_empty_option_values_are_accepted(host: FakeHost) -> None:
    # Given the empty values the SSM document passes by default
    # When the healthcheck runs with them
    run = host.run("--required-services", "", "--http-endpoint", "", "--fail-on-pending-reboot", "false")
    # Then they mean "nothing to check"
    assert "CHECK http SKIP no endpoint configured" in run.checks
    assert not any(line.startswith("CHECK service:") for line in run.checks)
    assert run.exit_code == 0


def assert_failed(run: Run, expected_check: str, failed_names: str, total: int = 8) -> None:
    failed_count = len(failed_names.split(", "))
    summary = f"HEALTHCHECK FAIL {failed_count} of {total} checks failed: {failed_names}"
    assert expected_check in run.checks
    assert len(run.checks) == total
    assert run.final_line == summary
    assert run.stderr.strip() == summary
    assert run.exit_code == 1


def test_agent_down_fails(host: FakeHost) -> None:
    # Given an agent whose unit is inactive and whose process is gone
    host.set_unit_state("amazon-ssm-agent", "inactive")
    host.stub("pgrep", exit_code=1)
    # When the healthcheck runs
    run = host.run(*ALL_PASS_ARGS)
    # Then the agent check fails
    assert_failed(run, "CHECK ssm-agent FAIL amazon-ssm-agent not running", "ssm-agent")


def test_agent_installed_as_snap_passes(host: FakeHost) -> None:
    # Given an Ubuntu host where the agent is the snap unit
    host.set_unit_state("amazon-ssm-agent", "inactive")
    host.set_unit_state("snap.amazon-ssm-agent.amazon-ssm-agent", "active")
    # When the healthcheck runs
    run = host.run(*ALL_PASS_ARGS)
    # Then the snap unit counts
    assert run.checks[0] == "CHECK ssm-agent PASS unit=snap.amazon-ssm-agent.amazon-ssm-agent state=active"
    assert run.exit_code == 0


def test_agent_process_found_without_systemd_unit_passes(host: FakeHost) -> None:
    # Given no active agent unit but a running agent process
    host.set_unit_state("amazon-ssm-agent", "inactive")
    # When the healthcheck runs
    run = host.run(*ALL_PASS_ARGS)
    # Then the process counts
    assert run.checks[0] == "CHECK ssm-agent PASS process running"
    assert run.exit_code == 0


def test_disk_low_on_one_mount_fails_only_that_mount(host: FakeHost) -> None:
    # Given / with 60% free and /data with 4% free
    host.df(ROOT_60_PERCENT_FREE, DATA_4_PERCENT_FREE)
    # When the healthcheck runs with the default 10% threshold
    run = host.run(*ALL_PASS_ARGS)
    # Then /data fails and / passes
    assert "CHECK disk:/ PASS free=60% threshold=10% mount=/" in run.checks
    assert_failed(run, "CHECK disk:/data FAIL free=4% threshold=10% mount=/data", "disk:/data")


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        ("50", "CHECK disk:/data PASS free=50% threshold=50% mount=/data"),
        ("51", "CHECK disk:/data FAIL free=50% threshold=51% mount=/data"),
        ("0", "CHECK disk:/data PASS free=50% threshold=0% mount=/data"),
    ],
)
def test_disk_threshold_is_a_minimum(host: FakeHost, threshold: str, expected: str) -> None:
    # Given /data with exactly 50% free
    # When the healthcheck runs with the threshold
    run = host.run("--min-free-disk-percent", threshold)
    # Then free space equal to the threshold passes and below it fails
    assert expected in run.checks


def test_df_failure_fails_disk_check(host: FakeHost) -> None:
    # Given a df that prints nothing and exits 1
    host.stub("df", exit_code=1)
    # When the healthcheck runs
    run = host.run(*ALL_PASS_ARGS)
    # Then the disk check fails for / and the other checks still run
    assert_failed(run, "CHECK disk:/ FAIL df failed (exit 1)", "disk:/", total=7)


def test_df_partial_failure_still_checks_listed_filesystems(host: FakeHost) -> None:
    # Given a df that exits 1 (one unreadable mount) but lists the others
    host.df(ROOT_60_PERCENT_FREE, DATA_50_PERCENT_FREE, exit_code=1)
    # When the healthcheck runs
    run = host.run(*ALL_PASS_ARGS)
    # Then the listed filesystems are judged on their numbers
    assert run.checks == ALL_PASS_CHECKS
    assert run.exit_code == 0


def test_mount_point_with_blank_keeps_check_name_one_word(host: FakeHost) -> None:
    # Given a mount point with a blank in its path
    host.df(ROOT_60_PERCENT_FREE, "/dev/sdb1 1000 100 900 10% /mnt/my data")
    # When the healthcheck runs
    run = host.run()
    # Then the blank is escaped in the name and kept in the detail
    assert "CHECK disk:/mnt/my\\040data PASS free=90% threshold=10% mount=/mnt/my data" in run.checks


def test_memory_low_fails(host: FakeHost) -> None:
    # Given 3% of memory available
    host.write_meminfo(total_kb=8_000_000, available_kb=240_000)
    # When the healthcheck runs with the default 5% threshold
    run = host.run(*ALL_PASS_ARGS)
    # Then the memory check fails
    assert_failed(run, "CHECK memory FAIL available=3% threshold=5%", "memory")


def test_memory_without_memavailable_is_estimated(host: FakeHost) -> None:
    # Given an old kernel without MemAvailable
    host.meminfo.write_text(
        "MemTotal: 1000000 kB\nMemFree: 100000 kB\nBuffers: 50000 kB\nCached: 150000 kB\n"
    )
    # When the healthcheck runs
    run = host.run()
    # Then free + buffers + cached is used
    assert "CHECK memory PASS estimated-available=30% threshold=5%" in run.checks


def test_unreadable_meminfo_skips_memory_check(host: FakeHost) -> None:
    # Given no meminfo file
    host.meminfo.unlink()
    # When the healthcheck runs
    run = host.run(*ALL_PASS_ARGS)
    # Then the memory check is skipped and the run still passes
    assert f"CHECK memory SKIP {host.meminfo} not readable" in run.checks
    assert run.final_line == "HEALTHCHECK PASS 8 checks"
    assert run.exit_code == 0


@pytest.mark.parametrize("source", ["reboot-required file", "needs-restarting"])
@pytest.mark.parametrize(
    ("enforce", "expected_check", "expected_exit_code"),
    [
        ("true", "CHECK pending-reboot FAIL reboot pending (enforced)", 1),
        ("false", "CHECK pending-reboot PASS reboot pending (not enforced)", 0),
    ],
)
def test_pending_reboot_fails_only_when_enforced(
    host: FakeHost, source: str, enforce: str, expected_check: str, expected_exit_code: int
) -> None:
    # Given a reboot pending, told by Debian's marker file or by RHEL's needs-restarting -r
    if source == "reboot-required file":
        host.reboot_marker.write_text("*** System restart required ***\n")
    else:
        host.stub("needs-restarting", "Reboot is required", exit_code=1)
    # When the healthcheck runs with or without enforcement
    run = host.run(*ALL_PASS_ARGS, "--fail-on-pending-reboot", enforce)
    # Then the check fails only when enforced
    assert expected_check in run.checks
    assert run.exit_code == expected_exit_code
    if expected_exit_code == 1:
        assert_failed(run, expected_check, "pending-reboot")
    else:
        assert run.final_line == "HEALTHCHECK PASS 8 checks"


def test_needs_restarting_is_called_with_r(host: FakeHost) -> None:
    # Given a RHEL-family host without the Debian marker file
    # When the healthcheck runs
    host.run()
    # Then needs-restarting is asked with -r
    assert "needs-restarting -r" in host.calls()


def test_needs_restarting_error_skips_check(host: FakeHost) -> None:
    # Given an old needs-restarting that does not know -r
    host.stub("needs-restarting", exit_code=2)
    # When the healthcheck runs
    run = host.run(*ALL_PASS_ARGS, "--fail-on-pending-reboot", "true")
    # Then the check is skipped, not failed
    assert "CHECK pending-reboot SKIP needs-restarting -r failed (exit 2)" in run.checks
    assert run.exit_code == 0


def test_required_service_inactive_fails(host: FakeHost) -> None:
    # Given nginx failed
    host.set_unit_state("nginx", "failed")
    # When the healthcheck requires nginx and sshd
    run = host.run(*ALL_PASS_ARGS)
    # Then only nginx fails
    assert "CHECK service:sshd PASS state=active" in run.checks
    assert_failed(run, "CHECK service:nginx FAIL state=failed", "service:nginx")


@pytest.mark.parametrize(
    ("curl_stdout", "curl_exit_code", "expected_check"),
    [
        ("500", 0, f"CHECK http FAIL status=500 url={HEALTH_URL}"),
        ("404", 0, f"CHECK http FAIL status=404 url={HEALTH_URL}"),
        ("000", 7, f"CHECK http FAIL request failed (curl exit 7) url={HEALTH_URL}"),
        ("000", 28, f"CHECK http FAIL request failed (curl exit 28) url={HEALTH_URL}"),
    ],
)
def test_http_endpoint_failing_fails(
    host: FakeHost, curl_stdout: str, curl_exit_code: int, expected_check: str
) -> None:
    # Given an endpoint that answers with an error or not at all
    host.stub("curl", curl_stdout, exit_code=curl_exit_code)
    # When the healthcheck runs
    run = host.run(*ALL_PASS_ARGS)
    # Then the HTTP check fails
    assert_failed(run, expected_check, "http")


@pytest.mark.parametrize("status", ["200", "204", "301", "302"])
def test_http_2xx_and_3xx_pass(host: FakeHost, status: str) -> None:
    # Given an endpoint answering with a success or a redirect
    host.stub("curl", status)
    # When the healthcheck runs
    run = host.run(*ALL_PASS_ARGS)
    # Then the HTTP check passes and curl got the URL
    assert f"CHECK http PASS status={status} url={HEALTH_URL}" in run.checks
    assert any(call.startswith("curl ") and call.endswith(HEALTH_URL) for call in host.calls())


@pytest.mark.parametrize(
    ("wget_stdout", "wget_exit_code", "expected_check"),
    [
        ("  HTTP/1.1 200 OK", 0, f"CHECK http PASS status=200 url={HEALTH_URL}"),
        ("  HTTP/1.1 302 Found", 8, f"CHECK http PASS status=302 url={HEALTH_URL}"),
        ("  HTTP/1.1 503 Service Unavailable", 8, f"CHECK http FAIL status=503 url={HEALTH_URL}"),
        ("failed: Connection refused.", 4, f"CHECK http FAIL request failed (wget exit 4) url={HEALTH_URL}"),
    ],
)
def test_http_falls_back_to_wget(
    host: FakeHost, wget_stdout: str, wget_exit_code: int, expected_check: str
) -> None:
    # Given a host without curl but with wget
    host.remove("curl")
    host.stub("wget", wget_stdout, exit_code=wget_exit_code)
    # When the healthcheck runs
    run = host.run(*ALL_PASS_ARGS)
    # Then wget's answer decides
    assert expected_check in run.checks


def test_http_without_client_skips(host: FakeHost) -> None:
    # Given a host with neither curl nor wget
    host.remove("curl")
    # When the healthcheck runs with an endpoint
    run = host.run(*ALL_PASS_ARGS)
    # Then the HTTP check is skipped
    assert f"CHECK http SKIP neither curl nor wget available url={HEALTH_URL}" in run.checks
    assert run.exit_code == 0


def test_http_skipped_when_not_configured(host: FakeHost) -> None:
    # Given a host whose curl would fail
    host.stub("curl", "000", exit_code=7)
    # When the healthcheck runs without an endpoint
    run = host.run("--required-services", "nginx,sshd")
    # Then the HTTP check is skipped, curl is not called and the run passes
    assert run.checks[-1] == "CHECK http SKIP no endpoint configured"
    assert not any(call.startswith("curl") for call in host.calls())
    assert run.final_line == "HEALTHCHECK PASS 8 checks"
    assert run.exit_code == 0


@pytest.mark.parametrize(
    ("missing", "expected_check"),
    [
        ("df", "CHECK disk:/ SKIP df not available"),
        ("needs-restarting", "CHECK pending-reboot PASS no reboot pending"),
        ("curl", f"CHECK http SKIP neither curl nor wget available url={HEALTH_URL}"),
    ],
)
def test_missing_command_does_not_abort_the_run(host: FakeHost, missing: str, expected_check: str) -> None:
    # Given a host without one of the commands
    host.remove(missing)
    # When the healthcheck runs
    run = host.run(*ALL_PASS_ARGS)
    # Then that check reports why and every other check still runs
    assert expected_check in run.checks
    assert run.final_line.startswith("HEALTHCHECK PASS")
    assert run.exit_code == 0
    assert "command not found" not in run.stderr


def test_missing_systemctl_falls_back_and_fails_required_services(host: FakeHost) -> None:
    # Given a host without systemctl, with the agent process running
    host.remove("systemctl")
    # When the healthcheck requires services
    run = host.run(*ALL_PASS_ARGS)
    # Then the agent is found by pgrep and the required services cannot be confirmed
    assert run.checks[0] == "CHECK ssm-agent PASS process running"
    assert "CHECK service:nginx FAIL systemctl not available" in run.checks
    assert run.final_line == "HEALTHCHECK FAIL 2 of 8 checks failed: service:nginx, service:sshd"
    assert run.exit_code == 1


def test_no_tools_at_all_still_completes(host: FakeHost) -> None:
    # Given an empty PATH
    for command in ("systemctl", "pgrep", "df", "needs-restarting", "curl"):
        host.remove(command)
    # When the healthcheck runs
    run = host.run("--http-endpoint", HEALTH_URL)
    # Then every check reports and the run ends normally
    assert run.checks == [
        "CHECK ssm-agent SKIP neither systemctl nor pgrep available",
        "CHECK disk:/ SKIP df not available",
        "CHECK memory PASS available=50% threshold=5%",
        "CHECK pending-reboot PASS no reboot pending",
        f"CHECK http SKIP neither curl nor wget available url={HEALTH_URL}",
    ]
    assert run.final_line == "HEALTHCHECK PASS 5 checks"
    assert run.exit_code == 0


def test_several_failures_are_all_named(host: FakeHost) -> None:
    # Given a host with the agent down, low memory and a failing endpoint
    host.set_unit_state("amazon-ssm-agent", "inactive")
    host.stub("pgrep", exit_code=1)
    host.write_meminfo(total_kb=1_000_000, available_kb=10_000)
    host.stub("curl", "503")
    # When the healthcheck runs
    run = host.run(*ALL_PASS_ARGS)
    # Then the summary counts and names every failure, in check order
    expected = "HEALTHCHECK FAIL 3 of 8 checks failed: ssm-agent, memory, http"
    assert run.final_line == expected
    assert run.stderr.strip() == expected
    assert run.exit_code == 1


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--bogus", "1"], id="unknown-option"),
        pytest.param(["positional"], id="positional-argument"),
        pytest.param(["--min-free-disk-percent"], id="missing-value"),
        pytest.param(["--min-free-disk-percent", "100"], id="disk-percent-too-high"),
        pytest.param(["--min-free-disk-percent", "-1"], id="disk-percent-negative"),
        pytest.param(["--min-free-memory-percent", "ten"], id="memory-percent-not-a-number"),
        pytest.param(["--min-free-memory-percent", "5.5"], id="memory-percent-decimal"),
        pytest.param(["--fail-on-pending-reboot", "yes"], id="boolean-not-true-false"),
        pytest.param(["--fail-on-pending-reboot", "TRUE"], id="boolean-upper-case"),
        pytest.param(["--required-services", "nginx;id"], id="service-injection"),
        pytest.param(["--required-services", "nginx,"], id="service-trailing-comma"),
        pytest.param(["--required-services", "-nginx"], id="service-leading-dash"),
        pytest.param(["--http-endpoint", "http://example.com/"], id="http-not-local"),
        pytest.param(["--http-endpoint", "http://localhost/$(id)"], id="http-injection"),
        pytest.param(["--http-endpoint=file:///etc/passwd"], id="http-other-scheme"),
    ],
)
def test_bad_arguments_exit_2_with_usage(host: FakeHost, args: list[str]) -> None:
    # Given a healthy host
    # When the healthcheck gets a bad argument
    run = host.run(*args)
    # Then it exits 2 with a usage line on stderr, before running any check
    assert run.exit_code == 2
    assert run.stdout == ""
    assert any(line.startswith("usage: healthcheck.sh ") for line in run.stderr.splitlines())
    assert host.calls() == []


def test_equals_form_of_options_is_accepted(host: FakeHost) -> None:
    # Given a healthy host
    # When options are given as --name=value
    run = host.run("--required-services=nginx,sshd", f"--http-endpoint={HEALTH_URL}")
    # Then they are read like --name value
    assert run.checks == ALL_PASS_CHECKS
    assert run.exit_code == 0


def test_script_is_executable() -> None:
    # Given the script in the repository
    # Then it is executable, so that it can also run as ./healthcheck.sh
    assert os.access(SCRIPT, os.X_OK)


# ------------------------------------------------------------------ the document's run step: the hash


DOCUMENT = SCRIPT.parents[1] / "healthcheck.yaml"
DESTINATION = "/var/lib/amazon/ssm/hygiene/healthcheck.sh"
HASH_TOOLS = ("sha256sum", "openssl", "shasum")


def run_step_text(downloaded: Path, expected_sha256: str) -> str:
    """The document's RunLinuxHealthcheck script as the agent would run it: parameters substituted
    by their defaults (the hash by `expected_sha256`), the download destination moved to a test file."""
    steps = {step["name"]: step for step in yaml.safe_load(DOCUMENT.read_text())["mainSteps"]}
    text = "\n".join(steps["RunLinuxHealthcheck"]["inputs"]["runCommand"])
    assert text.count(DESTINATION) == 1, "the step names its destination once"
    defaults = {
        name: str(spec.get("default", ""))
        for name, spec in yaml.safe_load(DOCUMENT.read_text())["parameters"].items()
    }
    defaults["LinuxScriptSha256"] = expected_sha256
    text = text.replace(DESTINATION, str(downloaded))
    return re.sub(r"\{\{ ([A-Za-z0-9]+) \}\}", lambda m: defaults[m.group(1)], text)


def tool_dir(root: Path, *tools: str) -> Path:
    """A PATH of links to the real `tools` (and the shells and what shasum needs), nothing else."""
    folder = root / ("bin-" + "-".join(tools or ("none",)))
    folder.mkdir()
    for name in (*tools, "bash", "sh", *(("perl",) if "shasum" in tools else ())):
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} is not installed here")
        (folder / name).symlink_to(found)
    return folder


def run_document_step(text: str, path: Path, shell: str = "bash") -> Run:
    found = shutil.which(shell)
    if found is None:
        pytest.skip(f"{shell} is not installed here")
    done = subprocess.run(
        [found, "-c", text], env={"PATH": str(path)}, capture_output=True, text=True, timeout=30, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def downloaded(tmp_path: Path) -> Path:
    """A stand-in for the downloaded script: it only says how it was called."""
    script = tmp_path / "healthcheck.sh"
    script.write_bytes(b'#!/bin/bash\necho "HEALTHCHECK PASS 0 checks"\necho "args: $*"\n')
    return script


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("tool", HASH_TOOLS)
@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_a_script_with_the_published_hash_runs(
    downloaded: Path, tmp_path: Path, tool: str, shell: str
) -> None:
    # Given the downloaded script and its true hash, and only one hashing tool on the instance
    path = tool_dir(tmp_path, tool)
    # When the document's run step runs (the agent starts it with sh, which may be dash)
    run = run_document_step(run_step_text(downloaded, sha256_of(downloaded)), path, shell)
    # Then the script ran with the document's options
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.stdout.splitlines()[0] == "HEALTHCHECK PASS 0 checks"
    assert "--min-free-disk-percent 10" in run.stdout


@pytest.mark.parametrize("tool", HASH_TOOLS)
@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_a_tampered_script_is_refused_with_exit_4_and_never_runs(
    downloaded: Path, tmp_path: Path, tool: str, shell: str
) -> None:
    # Given the hash the stack published, and a script that was replaced after publication
    published = sha256_of(downloaded)
    downloaded.write_bytes(b'#!/bin/bash\ntouch "$0.ran"\necho "HEALTHCHECK PASS 0 checks"\n')
    path = tool_dir(tmp_path, tool)
    # When the document's run step runs
    run = run_document_step(run_step_text(downloaded, published), path, shell)
    # Then it exits 4 with one clear line on stderr, and the script never ran
    assert run.exit_code == 4
    assert run.stdout == ""
    actual = sha256_of(downloaded)
    assert (
        run.stderr == f"healthcheck script hash mismatch: expected {published}, got {actual} ({downloaded})\n"
    )
    assert not Path(f"{downloaded}.ran").exists()


def test_without_any_hashing_tool_the_script_is_refused(downloaded: Path, tmp_path: Path) -> None:
    # Given an instance with no sha256sum, openssl or shasum
    run = run_document_step(run_step_text(downloaded, sha256_of(downloaded)), tool_dir(tmp_path))
    # Then nothing runs unverified
    assert run.exit_code == 4
    assert run.stderr.startswith(
        "healthcheck script hash unavailable: no working sha256sum, openssl or shasum"
    )


def test_a_missing_script_still_exits_3_before_any_hash(tmp_path: Path) -> None:
    run = run_document_step(run_step_text(tmp_path / "absent.sh", "0" * 64), tool_dir(tmp_path, "sha256sum"))

    assert run.exit_code == 3
    assert run.stderr.startswith("healthcheck script missing: ")


def test_the_refusal_is_explained_by_the_catalogue(downloaded: Path, tmp_path: Path) -> None:
    published = sha256_of(downloaded)
    downloaded.write_bytes(b"#!/bin/bash\necho tampered\n")
    run = run_document_step(run_step_text(downloaded, published), tool_dir(tmp_path, "sha256sum"))

    summary = summarise_failure(
        document_name="instance-hygiene-Healthcheck",
        status="Failed",
        status_details="Failed",
        step="RunLinuxHealthcheck",
        response_code=run.exit_code,
        stdout=StreamText(head=run.stdout, tail="", complete=True),
        stderr=StreamText(head=run.stderr, tail="", complete=True),
    )
    assert summary.rule == "healthcheck.script-hash-mismatch"
    assert summary.reason == (
        "healthcheck refused to run a script that is not the published one "
        f"(SHA-256 {sha256_of(downloaded)[:12]}..., expected {published[:12]}...)"
    )
