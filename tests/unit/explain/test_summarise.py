"""explain.summarise: what a failed step's log and status say went wrong, in one reason and an excerpt.

Logs are the documented failure logs of tests/fixtures/logs/, status details without a log,
healthcheck and Windows output, and hostile logs (`tests.support.logs.HOSTILE_LOGS`, also played
through the real handler by tests/integration/test_hostile_logs.py) read as bytes the way S3
serves them, then summarised and rendered.
"""

from __future__ import annotations

import json
import time
import unicodedata
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instance_hygiene.digest.logs import HEAD_BYTES, TAIL_BYTES, StreamRead, read_bounded
from instance_hygiene.digest.model import (
    CommandDigest,
    Failure,
    LogInfo,
    count_statuses,
    group_failures,
)
from instance_hygiene.explain.patchsummary import PatchCounts
from instance_hygiene.explain.summarise import (
    EXCERPT_LINE_MAX_CHARS,
    REASON_MAX_CHARS,
    FailureSummary,
    StreamText,
    describe_exit_code,
    exit_code_table,
    summarise_failure,
)
from instance_hygiene.render.command import fit, message_bytes
from instance_hygiene.secrets.redact import clean
from tests.support.events import load_event
from tests.support.logs import HARMLESS, HOSTILE_LOGS, HostileLog, log_text

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "docs" / "digest-schema.json").read_text())
COMMAND_EVENT = load_event("command-failed.json")
LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "logs"
PATCH = "AWS-RunPatchBaseline"
HEALTHCHECK = "InstanceHygiene-Healthcheck"
SHELL = "AWS-RunShellScript"


def fixture(name: str) -> StreamText | None:
    path = LOGS / name
    if not path.exists():
        return None
    return StreamText(head=path.read_bytes().decode("utf-8", errors="replace"), tail="", complete=True)


def summarise_fixture(
    name: str,
    *,
    document: str = PATCH,
    step: str | None = "PatchLinux",
    code: int | None = 1,
    status: str = "Failed",
    details: str = "Failed",
) -> FailureSummary:
    return summarise_failure(
        document_name=document,
        status=status,
        status_details=details,
        step=step,
        response_code=code,
        stdout=fixture(f"{name}.stdout"),
        stderr=fixture(f"{name}.stderr"),
    )


def assert_well_formed(summary: FailureSummary, max_lines: int = 8) -> None:
    assert summary.reason
    assert len(summary.reason) <= REASON_MAX_CHARS
    assert "\n" not in summary.reason
    assert summary.reason == clean(summary.reason)
    assert len(summary.excerpt) <= max_lines
    assert len(set(summary.excerpt)) == len(summary.excerpt)
    for line in summary.excerpt:
        assert len(line) <= EXCERPT_LINE_MAX_CHARS
        assert "\n" not in line
        assert line == clean(line)
        assert not any(unicodedata.category(c) == "Cc" and c != "\t" for c in line)


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize(
    ("name", "document", "step", "code", "reason", "meaning"),
    [
        pytest.param(
            "linux_yum_lock",
            PATCH,
            "PatchLinux",
            1,
            "yum lock held by another process (pid 2417)",
            "failure",
            id="yum-lock",
        ),
        pytest.param(
            "linux_no_mirrors",
            PATCH,
            "PatchLinux",
            1,
            "yum timed out fetching https://cdn.amazonlinux.com/2/core/2.0/x86_64/"
            "6b0225ccc542f3834c95733dcf321ab9f1e77e6ca6817469771a8af7c49efe6c/repoda... "
            "(Connection timed out after 5001 milliseconds)",
            "failure",
            id="no-mirrors-names-the-timeout-not-the-echo",
        ),
        pytest.param(
            "linux_apt_python3",
            PATCH,
            "PatchLinux",
            1,
            "Apt patching requires Python3 on the instance",
            "failure",
            id="apt-python3",
        ),
        pytest.param(
            "linux_permission_denied",
            PATCH,
            "PatchLinux",
            126,
            "agent script not executable: permission denied (is /var/lib/amazon mounted noexec?)",
            "command not executable / permission denied",
            id="permission-denied-126",
        ),
        pytest.param(
            "linux_reboot_with_failures",
            PATCH,
            "PatchLinux",
            195,
            "rpm: /usr/lib64/libssl.so.10 from openssl-libs-1:1.0.2k-24.amzn2.0.12.x86_64 conflicts with "
            "the installed package compat-openssl10-1:1.0.2o-3.amzn2.x86_64",
            "reboot requested with failures",
            id="reboot-with-failures-195",
        ),
        pytest.param(
            "linux_python_traceback",
            PATCH,
            "PatchLinux",
            1,
            "ModuleNotFoundError: No module named 'dnf'",
            "failure",
            id="python-traceback",
        ),
        pytest.param(
            "windows_update_search_failed",
            PATCH,
            "PatchWindows",
            4294967295,
            "Windows Update search failed with 0x80240437: There was a problem authorizing with the service.",
            "the script failed without an exit code of its own (-1, on Windows shown as 4294967295)",
            id="windows-search-0x80240437",
        ),
        pytest.param(
            "healthcheck_fail",
            HEALTHCHECK,
            "RunLinuxHealthcheck",
            1,
            "healthcheck: 2 of 8 checks failed: disk:/, service:nginx",
            "checks failed",
            id="healthcheck",
        ),
        pytest.param(
            "linux_messy_terminal",
            SHELL,
            "0.awsrunShellScript",
            100,
            "/usr/bin/dpkg returned error code 1 (see the package errors before it)",
            None,
            id="messy-terminal",
        ),
        pytest.param(
            "linux_secrets_leak",
            SHELL,
            "0.awsrunShellScript",
            22,
            "ERROR: backup agent registration failed for user admin (password=[REDACTED]",
            None,
            id="secrets-leak",
        ),
    ],
)
def test_given_documented_failure_log_when_summarised_then_reason_and_exit_meaning_are_stable(
    *, name: str, document: str, step: str, code: int, reason: str, meaning: str | None
) -> None:
    summary = summarise_fixture(name, document=document, step=step, code=code)

    assert summary.reason == reason
    assert summary.exit_code == code
    assert summary.exit_meaning == meaning
    assert_well_formed(summary)


@pytest.mark.parametrize(
    ("name", "must_show", "must_not_show"),
    [
        pytest.param(
            "linux_yum_lock",
            ["another process has acquired yum lock", "[ERROR]: Existing lock /var/run/yum.pid"],
            [HARMLESS, "Region: us-east-1"],
            id="yum-lock",
        ),
        pytest.param(
            "linux_no_mirrors",
            ["[Errno 256] No more mirrors to try.", "[ERROR]: Error code returned from yum check-update: 1"],
            [HARMLESS],
            id="no-mirrors",
        ),
        pytest.param(
            "linux_permission_denied",
            ["_script.sh: Permission denied"],
            [],
            id="permission-denied",
        ),
        pytest.param(
            "linux_reboot_with_failures",
            [
                "[ERROR]: Failed to install package openssl-libs.x86_64",
                "Reboot is required, rebooting the instance",
            ],
            [HARMLESS],
            id="reboot-with-failures",
        ),
        pytest.param(
            "windows_update_search_failed",
            [
                "An error occurred when attempting to search Windows Update.",
                "Exception from HRESULT: 0x80240437",
            ],
            ["failed to run commands: exit status 4294967295"],
            id="windows-search",
        ),
        pytest.param(
            "healthcheck_fail",
            [
                "CHECK disk:/ FAIL free=4% threshold=10%",
                "CHECK service:nginx FAIL",
                "HEALTHCHECK FAIL 2 of 8",
            ],
            ["CHECK service:sshd PASS", "CHECK pending-reboot SKIP", "failed to run commands"],
            id="healthcheck",
        ),
        pytest.param(
            "linux_python_traceback",
            ["Traceback (most recent call last):", "ModuleNotFoundError: No module named 'dnf'"],
            [],
            id="traceback",
        ),
        pytest.param(
            "linux_secrets_leak",
            ["password=[REDACTED]", "Authorization: Bearer [REDACTED]", "[REDACTED:private-key]"],
            ["hunter2", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "eyJhbGciOiJIUzI1NiJ9"],
            id="secrets",
        ),
    ],
)
def test_given_failure_log_when_summarised_then_excerpt_shows_the_explaining_lines(
    name: str, must_show: list[str], must_not_show: list[str]
) -> None:
    step = "PatchWindows" if name.startswith("windows") else "PatchLinux"
    document = HEALTHCHECK if name.startswith("healthcheck") else PATCH

    excerpt = "\n".join(summarise_fixture(name, document=document, step=step).excerpt)

    assert all(text in excerpt for text in must_show), excerpt
    assert not any(text in excerpt for text in must_not_show), excerpt


def test_given_repeated_retry_lines_when_summarised_then_excerpt_shows_them_once_in_log_order() -> None:
    summary = summarise_fixture("linux_yum_lock")

    retries = [line for line in summary.excerpt if "another process has acquired yum lock" in line]
    assert len(retries) == 1
    raw_lines = fixture("linux_yum_lock.stdout").head.split("\n")  # type: ignore[union-attr]
    assert [raw_lines.index(line) for line in summary.excerpt] == sorted(
        raw_lines.index(line) for line in summary.excerpt
    )


def test_given_messy_terminal_log_when_summarised_then_excerpt_is_plain_text() -> None:
    summary = summarise_fixture("linux_messy_terminal", document=SHELL, step="0.awsrunShellScript", code=100)

    assert_well_formed(summary)
    assert "Windows UTF-16" in summary.excerpt
    assert not any("\x1b" in line or "\r" in line for line in summary.excerpt)


# --------------------------------------------------------------------------- patch counts


def test_given_failed_install_with_summary_when_summarised_then_patch_counts_are_attached() -> None:
    summary = summarise_fixture("linux_reboot_with_failures", code=195)

    assert summary.patch == PatchCounts("Install", 388, 36, 3, 0, 0, 2, 1644)


# --------------------------------------------------------------------------- status details


@pytest.mark.parametrize(
    ("status", "details", "step", "code", "reason", "exit_code"),
    [
        pytest.param(
            "TimedOut",
            "DeliveryTimedOut",
            None,
            -1,
            "timed out before delivery: instance offline or agent not running",
            None,
            id="delivery-timed-out",
        ),
        pytest.param(
            "TimedOut",
            "Delivery Timed Out",
            None,
            None,
            "timed out before delivery: instance offline or agent not running",
            None,
            id="details-with-spaces",
        ),
        pytest.param(
            "TimedOut",
            "ExecutionTimedOut",
            "PatchLinux",
            -1,
            "timed out during execution (step PatchLinux)",
            None,
            id="execution-timed-out",
        ),
        pytest.param(
            "Cancelled",
            "Cancelled",
            "PatchWindows",
            -1,
            "cancelled (e.g. window cutoff reached or operator)",
            None,
            id="cancelled",
        ),
        pytest.param(
            "Failed",
            "Undeliverable",
            None,
            -1,
            "undeliverable: instance not reachable",
            None,
            id="undeliverable",
        ),
        pytest.param(
            "Failed",
            "Terminated",
            None,
            -1,
            "terminated: the command exceeded its MaxErrors limit",
            None,
            id="terminated",
        ),
        pytest.param(
            "Failed",
            "InvalidPlatform",
            "PatchMacOS",
            -1,
            "invalid platform: the document does not support this instance's OS",
            None,
            id="invalid-platform",
        ),
        pytest.param(
            "Failed",
            "AccessDenied",
            None,
            None,
            "access denied: not allowed to run the document on this instance",
            None,
            id="access-denied",
        ),
        pytest.param(
            "TimedOut", "", "PatchLinux", None, "timed out (step PatchLinux)", None, id="status-only"
        ),
        pytest.param(
            "Failed", "Failed", "PatchLinux", None, "failed, no output available", None, id="nothing-known"
        ),
        pytest.param(
            "Failed",
            "Failed",
            "PatchLinux",
            156,
            "exit code 156: payload download failed",
            156,
            id="patch-exit-code-without-log",
        ),
        pytest.param(
            "Failed",
            "Failed",
            "PatchWindows",
            -1,
            "exit code -1: the script failed without an exit code of its own"
            " (-1, on Windows shown as 4294967295)",
            -1,
            id="windows-minus-one-kept-when-it-ran",
        ),
        pytest.param(
            "Failed",
            "Failed",
            "PatchLinux",
            7,
            "failed with exit code 7, no output available",
            7,
            id="unknown-code",
        ),
        pytest.param(
            "Failed",
            "Failed",
            "PatchLinux",
            0,
            "failed although the step exited with code 0",
            0,
            id="exit-zero",
        ),
        pytest.param("Success", "Success", "PatchLinux", 0, "succeeded", 0, id="success"),
    ],
)
def test_given_status_without_logs_when_summarised_then_status_drives_reason(
    *, status: str, details: str, step: str | None, code: int | None, reason: str, exit_code: int | None
) -> None:
    summary = summarise_failure(
        document_name=PATCH,
        status=status,
        status_details=details,
        step=step,
        response_code=code,
        stdout=None,
        stderr=None,
    )

    assert summary.reason == reason
    assert summary.exit_code == exit_code
    assert summary.excerpt == ()
    assert summary.patch is None


def test_given_execution_timeout_with_yum_lock_log_when_summarised_then_reason_adds_the_cause() -> None:
    summary = summarise_fixture("linux_yum_lock", code=-1, status="TimedOut", details="ExecutionTimedOut")

    assert (
        summary.reason
        == "timed out during execution (step PatchLinux): yum lock held by another process (pid 2417)"
    )
    assert summary.exit_code is None


def test_given_no_response_code_when_agent_reports_exit_status_then_exit_code_comes_from_the_log() -> None:
    summary = summarise_fixture("linux_permission_denied", code=None)

    assert summary.exit_code == 126
    assert summary.exit_meaning == "command not executable / permission denied"


def test_given_only_the_harmless_kernel_warning_when_summarised_then_it_is_neither_reason_nor_excerpt() -> (
    None
):
    log = f"06/11/2024 02:00:17 root [WARNING]: {HARMLESS}, code: 1\n"

    summary = summarise_failure(
        document_name=PATCH,
        status="Failed",
        status_details="Failed",
        step="PatchLinux",
        response_code=1,
        stdout=StreamText(head=log),
        stderr=None,
    )

    assert HARMLESS not in summary.reason
    assert summary.excerpt == ()
    assert summary.reason == "exit code 1: failure"


# --------------------------------------------------------------------------- healthcheck and Windows


@pytest.mark.parametrize(
    ("stdout", "step", "reason"),
    [
        pytest.param(
            "CHECK disk:/ FAIL free=4%\nCHECK svc:a PASS\nHEALTHCHECK FAIL 1 of 2 checks failed: disk:/\n",
            "RunLinuxHealthcheck",
            "healthcheck: 1 of 2 checks failed: disk:/",
            id="summary-line",
        ),
        pytest.param(
            "HEALTHCHECK FAIL 2 of 5 checks failed: disk:/var,service:sshd\n",
            "RunLinuxHealthcheck",
            "healthcheck: 2 of 5 checks failed: disk:/var, service:sshd",
            id="comma-separated-names",
        ),
        pytest.param(
            "CHECK disk:C: FAIL free=2%\nCHECK service:W32Time FAIL Stopped\n"
            "CHECK patch SKIP\nCHECK x PASS\n",
            "RunWindowsHealthcheck",
            "healthcheck: 2 of 4 checks failed: disk:C:, service:W32Time",
            id="derived-from-check-lines-skips-counted-as-the-scripts-do",
        ),
        pytest.param(
            "HEALTHCHECK FAIL 40 of 40 checks failed: "
            + " ".join(f"service:very-long-service-name-{n}" for n in range(40))
            + "\n",
            "RunLinuxHealthcheck",
            "healthcheck: 40 of 40 checks failed: service:very-long-service-name-0, "
            "service:very-long-service-name-1, service:very-long-service-name-2, "
            "service:very-long-service-name-3 and 36 more",
            id="many-names-fit-200-chars",
        ),
    ],
)
def test_given_healthcheck_output_when_summarised_then_reason_lists_failed_checks(
    stdout: str, step: str, reason: str
) -> None:
    summary = summarise_failure(
        document_name=HEALTHCHECK,
        status="Failed",
        status_details="Failed",
        step=step,
        response_code=1,
        stdout=StreamText(head=stdout),
        stderr=None,
    )

    assert summary.reason == reason
    assert_well_formed(summary)


def test_given_healthcheck_download_step_failed_when_summarised_then_reason_names_the_download() -> None:
    summary = summarise_failure(
        document_name=HEALTHCHECK,
        status="Failed",
        status_details="Failed",
        step="DownloadLinuxHealthcheck",
        response_code=1,
        stdout=None,
        stderr=StreamText(
            head="An error occurred (AccessDenied) when calling the GetObject operation: Access Denied\n"
        ),
    )

    assert (
        summary.reason == "healthcheck script download failed (step DownloadLinuxHealthcheck): "
        "AWS GetObject failed: AccessDenied (Access Denied)"
    )


@pytest.mark.parametrize(
    ("stderr", "reason"),
    [
        pytest.param(
            "Exception from HRESULT: 0x80072EE2\n",
            "Windows error 0x80072EE2: The operation timed out",
            id="network-timeout-hresult",
        ),
        pytest.param(
            "Search failed with HResult: -2145123273\n",
            "Windows error 0x80240437: There was a problem authorizing with the service.",
            id="decimal-hresult",
        ),
        pytest.param(
            "Invoke-PatchBaselineOperation : Access to the path is denied.\n",
            "Invoke-PatchBaselineOperation : Access to the path is denied.",
            id="invoke-without-code-quotes-the-line",
        ),
    ],
)
def test_given_windows_errors_when_summarised_then_hresult_is_quoted(stderr: str, reason: str) -> None:
    summary = summarise_failure(
        document_name=PATCH,
        status="Failed",
        status_details="Failed",
        step="PatchWindows",
        response_code=4294967295,
        stdout=None,
        stderr=StreamText(head=stderr),
    )

    assert summary.reason == reason


def test_given_hex_in_a_linux_log_when_summarised_then_it_is_not_taken_for_an_hresult() -> None:
    summary = summarise_failure(
        document_name=SHELL,
        status="Failed",
        status_details="Failed",
        step="0.awsrunShellScript",
        response_code=1,
        stdout=StreamText(head="mapped region at 0x80000000\nerror: mmap failed\n"),
        stderr=None,
    )

    assert summary.reason == "error: mmap failed"


# --------------------------------------------------------------------------- excerpt rules


def test_given_head_and_tail_of_a_long_log_when_summarised_then_both_parts_are_read() -> None:
    head = "06/11/2024 02:00:01 root [INFO]: start\n" + "filler line\n" * 10
    tail = "06/11/2024 03:00:01 root [ERROR]: Failed to install package foo\nlast words\n"

    summary = summarise_failure(
        document_name=PATCH,
        status="Failed",
        status_details="Failed",
        step="PatchLinux",
        response_code=1,
        stdout=StreamText(head=head, tail=tail, complete=False),
        stderr=None,
    )

    assert summary.reason == "Failed to install package foo"
    assert summary.excerpt[-2:] == (
        "06/11/2024 03:00:01 root [ERROR]: Failed to install package foo",
        "last words",
    )


@pytest.mark.parametrize("budget", [0, 1, 3, 8, 20])
def test_given_many_error_lines_when_summarised_then_excerpt_respects_budget_and_keeps_first_and_last(
    budget: int,
) -> None:
    log = "".join(f"ERROR: disk {n} failed check {chr(97 + n % 26)}{n}\n" for n in range(50)) + "giving up\n"

    summary = summarise_failure(
        document_name=SHELL,
        status="Failed",
        status_details="Failed",
        step="0.awsrunShellScript",
        response_code=1,
        stdout=StreamText(head=log),
        stderr=None,
        excerpt_lines=budget,
    )

    assert len(summary.excerpt) == min(budget, 51)
    if budget >= 4:
        assert summary.excerpt[0] == "ERROR: disk 0 failed check a0"
        assert summary.excerpt[-1] == "giving up"


def test_given_a_very_long_line_when_summarised_then_excerpt_line_is_cut_without_splitting_a_marker() -> None:
    line = "E: " + "x" * 290 + " password=hunter2 " + "y" * 5000

    summary = summarise_failure(
        document_name=SHELL,
        status="Failed",
        status_details="Failed",
        step=None,
        response_code=1,
        stdout=StreamText(head=line),
        stderr=None,
    )

    assert len(summary.excerpt[0]) <= EXCERPT_LINE_MAX_CHARS
    assert summary.excerpt[0].endswith("...")
    assert "[RED" not in summary.excerpt[0].replace("[REDACTED]", "")
    assert "hunter2" not in summary.excerpt[0]
    assert len(summary.reason) <= REASON_MAX_CHARS


def test_given_10mb_single_line_log_when_summarised_then_finishes_quickly() -> None:
    started = time.perf_counter()

    summary = summarise_failure(
        document_name=PATCH,
        status="Failed",
        status_details="Failed",
        step="PatchLinux",
        response_code=1,
        stdout=StreamText(head="password=" * (10 * 1024 * 1024 // 9)),
        stderr=StreamText(head="a" * 10 * 1024 * 1024),
    )

    assert time.perf_counter() - started < 20.0
    assert_well_formed(summary)


# --------------------------------------------------------------------------- exit code tables


@pytest.mark.parametrize(
    ("code", "document", "step", "meaning"),
    [
        pytest.param(156, PATCH, None, "payload download failed", id="patch-156"),
        pytest.param(194, "AWS-RunPatchBaselineWithHooks", None, "reboot requested", id="patch-with-hooks"),
        pytest.param(146, "MyPatchWrapper", "PatchLinux", "unsupported OS", id="patch-by-step"),
        pytest.param(2, HEALTHCHECK, None, "bad arguments", id="healthcheck-2"),
        pytest.param(2, "Other", "RunWindowsHealthcheck", "bad arguments", id="healthcheck-by-step"),
        pytest.param(2, SHELL, None, None, id="generic-2-unknown"),
        pytest.param(127, SHELL, None, "command not found", id="generic-127"),
        pytest.param(
            137, HEALTHCHECK, None, "killed (SIGKILL, often out of memory)", id="generic-in-healthcheck"
        ),
        pytest.param(None, PATCH, None, None, id="no-code"),
    ],
)
def test_given_exit_code_when_described_then_meaning_depends_on_document(
    code: int | None, document: str, step: str | None, meaning: str | None
) -> None:
    assert describe_exit_code(code, document_name=document, step=step) == meaning


def test_given_exit_code_tables_when_read_then_documented_codes_are_present() -> None:
    PATCH_EXIT_CODES = exit_code_table("patch")
    HEALTHCHECK_EXIT_CODES = exit_code_table("healthcheck")
    assert set(PATCH_EXIT_CODES) >= {0, 1, 2, 3, 146, 152, 155, 156, 194, 195, 196, 126, 127, -1, 4294967295}
    assert HEALTHCHECK_EXIT_CODES[1] == "checks failed"
    assert PATCH_EXIT_CODES[-1] == PATCH_EXIT_CODES[4294967295]


# --------------------------------------------------------------------------- properties


statuses = st.sampled_from(
    ["Success", "Failed", "TimedOut", "Cancelled", "Pending", "InProgress", "Delayed", "Cancelling", ""]
)
details = st.one_of(
    st.sampled_from(
        [
            "Failed",
            "ExecutionTimedOut",
            "DeliveryTimedOut",
            "Undeliverable",
            "Terminated",
            "Cancelled",
            "InvalidPlatform",
            "NoInstancesInTag",
            "AccessDenied",
            "Success",
            "Delivery Timed Out",
        ]
    ),
    st.text(max_size=20),
)
streams = st.one_of(
    st.none(),
    st.builds(StreamText, head=log_text, tail=log_text, complete=st.booleans()),
)


@settings(max_examples=300, deadline=None)
@given(
    document=st.one_of(st.sampled_from([PATCH, HEALTHCHECK, SHELL]), st.text(max_size=30)),
    status=statuses,
    status_details=details,
    step=st.one_of(
        st.none(),
        st.sampled_from(["PatchLinux", "PatchWindows", "DownloadLinuxHealthcheck", "RunWindowsHealthcheck"]),
        st.text(max_size=30),
    ),
    code=st.one_of(st.none(), st.integers(), st.sampled_from([-1, 0, 1, 2, 126, 156, 195, 4294967295])),
    stdout=streams,
    stderr=streams,
    budget=st.integers(min_value=0, max_value=12),
)
def test_given_arbitrary_input_when_summarised_then_never_raises_and_output_is_well_formed(
    *,
    document: str,
    status: str,
    status_details: str,
    step: str | None,
    code: int | None,
    stdout: StreamText | None,
    stderr: StreamText | None,
    budget: int,
) -> None:
    summary = summarise_failure(
        document_name=document,
        status=status,
        status_details=status_details,
        step=step,
        response_code=code,
        stdout=stdout,
        stderr=stderr,
        excerpt_lines=budget,
    )

    assert_well_formed(summary, max_lines=budget)
    parts = [part for stream in (stdout, stderr) if stream is not None for part in (stream.head, stream.tail)]
    if all(part.count("hunter2") == part.count("password=hunter2") for part in parts):  # only as planted
        assert "hunter2" not in summary.reason
        assert not any("hunter2" in line for line in summary.excerpt)


@pytest.mark.parametrize(
    ("status", "details"), [("TimedOut", "Execution Timed Out"), ("Cancelled", "Cancelled")]
)
@pytest.mark.parametrize("code", [137, 143])
def test_given_a_step_stopped_by_ssm_when_summarised_then_its_kill_code_is_not_blamed_on_memory(
    status: str, details: str, code: int
) -> None:
    summary = summarise_failure(
        document_name="AWS-RunPatchBaseline",
        status=status,
        status_details=details,
        step="PatchLinux",
        response_code=code,
        stdout=StreamText(head="Running transaction\n  Updating   : bind-libs 1/16\n"),
        stderr=None,
    )

    assert summary.exit_code == code
    assert summary.exit_meaning == "stopped by Systems Manager (timeout or cancel)"


# --------------------------------------------------------------------------- hostile logs


def summarise_bytes(data: bytes, *, stream: str = "stdout") -> tuple[StreamRead, FailureSummary]:
    """What the handler does with one stored stream: a bounded ranged read, then the summary."""
    read = read_bounded(lambda first, last: data[first : last + 1], len(data))
    summary = summarise_failure(
        document_name="AWS-RunShellScript",
        status="Failed",
        status_details="Failed",
        step="aws:runShellScript",
        response_code=1,
        stdout=read.text if stream == "stdout" else None,
        stderr=read.text if stream == "stderr" else None,
    )
    return read, summary


def assert_printable_line(text: str) -> None:
    assert not {"\n", "\r", "\u202e", "\u200b"} & set(text), repr(text)
    assert not [c for c in text if unicodedata.category(c) in ("Cc", "Cs") and c != "\t"], repr(text)
    text.encode("utf-8")


def test_the_hostile_logs_are_at_least_fifteen() -> None:
    assert len(HOSTILE_LOGS) >= 15


@pytest.mark.parametrize("log", HOSTILE_LOGS, ids=[log.name for log in HOSTILE_LOGS])
def test_given_a_hostile_log_when_read_and_summarised_then_the_summary_is_correct_and_clean(
    log: HostileLog,
) -> None:
    data = log.build()

    read, summary = summarise_bytes(data, stream=log.stream)

    assert read.bytes_total == len(data)
    assert read.bytes_read <= HEAD_BYTES + TAIL_BYTES
    assert log.reason.lower() in summary.reason.lower()
    assert 0 < len(summary.reason) <= REASON_MAX_CHARS
    assert_printable_line(summary.reason)
    for line in summary.excerpt:
        assert_printable_line(line)
        assert len(line) <= EXCERPT_LINE_MAX_CHARS
    if log.excerpt is not None:
        assert any(log.excerpt in line for line in summary.excerpt), summary.excerpt


@pytest.mark.parametrize("log", HOSTILE_LOGS, ids=[log.name for log in HOSTILE_LOGS])
def test_given_a_hostile_log_when_rendered_then_every_rendering_is_valid_and_keeps_the_counts(
    log: HostileLog,
) -> None:
    _, summary = summarise_bytes(log.build(), stream=log.stream)
    failure = Failure(
        instance_id="i-0123456789abcdef0",
        status="Failed",
        status_details="Failed",
        step="aws:runShellScript",
        exit_code=summary.exit_code,
        reason=summary.reason,
        excerpt=summary.excerpt,
        log=LogInfo(source="s3", bytes_total=1, bytes_read=1, complete=False),
    )
    digest = CommandDigest(
        command_id=COMMAND_EVENT["detail"]["command-id"],
        document_name="AWS-RunShellScript",
        status="Failed",
        counts=count_statuses(["Failed", "Success"]),
        groups=group_failures([failure]),
        region="eu-west-2",
    )

    _, rendered = fit(digest)

    jsonschema.validate(json.loads(rendered.machine), SCHEMA)
    assert json.loads(rendered.chat)["source"] == "custom"
    assert "failed 1, timed out 0, cancelled 0, other 0, succeeded 1" in rendered.text
    assert message_bytes(rendered) < 262_144
