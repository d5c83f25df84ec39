"""explain.signature: the same failure on two hosts signs alike, different failures do not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instance_hygiene.explain.signature import signature
from tests.support.logs import log_text

# --------------------------------------------------------------------------- signature


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            "healthcheck: 1 of 6 checks failed: disk:/ free=4% threshold=10%",
            "healthcheck: 1 of 7 checks failed: disk:/ free=7% threshold=15%",
            id="percentages",
        ),
        pytest.param(
            "Existing lock /var/run/yum.pid: another copy is running as pid 2417.",
            "Existing lock /var/run/yum.pid: another copy is running as pid 31337.",
            id="pids",
        ),
        pytest.param(
            "sh: 1: /var/lib/amazon/ssm/i-0a1b2c3d4e5f67890/document/orchestration/"
            "6f1c2a9e-0b3d-4c5e-8f7a-1b2c3d4e5f60/PatchLinux/_script.sh: Permission denied",
            "sh: 1: /var/lib/amazon/ssm/mi-0123456789abcdef0/document/orchestration/"
            "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a/PatchLinux/_script.sh: Permission denied",
            id="instance-and-command-ids",
        ),
        pytest.param(
            "06/11/2024 02:00:41 root [ERROR]: timeout talking to 10.0.3.17:443 after 5.2 GB",
            "12/01/2025 23:59:01 root [ERROR]: timeout talking to 172.31.0.9:443 after 700 MiB",
            id="dates-times-ips-sizes",
        ),
        pytest.param(
            "ip-10-0-3-17.ec2.internal: pointer 0x7ffd1234 sha deadbeef12345678",
            "ip-10-0-9-99.ec2.internal: pointer 0x7ffe9999 sha 0123456789abcdef",
            id="hosts-and-hex",
        ),
        pytest.param("Failed   with\tspaces", "failed with spaces", id="case-and-whitespace"),
    ],
)
def test_given_same_failure_on_two_hosts_when_signed_then_signatures_match(first: str, second: str) -> None:
    assert signature(first) == signature(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            "Windows Update search failed (0x80240437)",
            "Windows Update search failed (0x80072EE2)",
            id="hresult-kept",
        ),
        pytest.param(
            "exit code 156: payload download failed",
            "exit code 155: payload download failed",
            id="exit-code-kept",
        ),
        pytest.param(
            "failed with exit code 1, no output available",
            "failed with exit code -1, no output available",
            id="negative-exit-code-kept",
        ),
        pytest.param(
            "yum lock held by another process",
            "yum repositories unreachable: no more mirrors to try",
            id="different-kinds",
        ),
        pytest.param(
            "healthcheck: 1 of 6 checks failed: disk:/",
            "healthcheck: 1 of 6 checks failed: service:nginx",
            id="different-checks",
        ),
    ],
)
def test_given_different_failures_when_signed_then_signatures_differ(first: str, second: str) -> None:
    assert signature(first) != signature(second)


def test_given_a_reason_when_signed_then_placeholders_are_readable() -> None:
    assert (
        signature("Existing lock: pid 2417 on i-0a1b2c3d4e5f67890 at 2024-06-11T02:00:41Z, disk 4% of 20 GB")
        == "existing lock: pid <n> on <instance> at <time>, disk <pct> of <size>"
    )


# --------------------------------------------------------------------------- properties


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=200), log_text))
def test_given_any_reason_when_signed_then_signature_is_idempotent_and_normalised(reason: str) -> None:
    once = signature(reason)

    assert signature(once) == once
    assert "  " not in once
    assert once == once.strip()


@settings(max_examples=200, deadline=None)
@given(
    instance=st.from_regex(r"i-[0-9a-f]{17}", fullmatch=True),
    pid=st.integers(min_value=1, max_value=4_000_000),
    percent=st.integers(min_value=0, max_value=100),
    hour=st.integers(min_value=0, max_value=23),
)
def test_given_host_specific_details_when_signed_then_signature_is_stable(
    instance: str, pid: int, percent: int, hour: int
) -> None:
    reason = f"{instance}: lock held by pid {pid} at {hour:02d}:15:00, disk free={percent}%"

    assert signature(reason) == "<instance>: lock held by pid <n> at <time>, disk free=<pct>"
