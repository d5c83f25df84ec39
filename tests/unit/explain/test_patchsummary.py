"""explain.patchsummary: the patch counts read from AWS-RunPatchBaseline's summary, or none."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instance_hygiene.explain.patchsummary import PatchCounts, parse_patch_summary

LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "logs"


# --------------------------------------------------------------------------- patch counts


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "linux_install_success_with_summary.stdout",
            PatchCounts("Install", 412, 37, 0, 0, 0, 0, 1650),
            id="linux-success",
        ),
        pytest.param(
            "linux_reboot_with_failures.stdout",
            PatchCounts("Install", 388, 36, 3, 0, 0, 2, 1644),
            id="linux-195",
        ),
        pytest.param(
            "windows_success_summary.stdout",
            PatchCounts("Install", 27, 134, 2, 0, 0, 0, 1893),
            id="windows-success",
        ),
        pytest.param(
            "windows_update_search_failed.stdout",
            PatchCounts("Install", None, None, None, None, None, None, None),
            id="windows-failed-minus-one-is-unknown",
        ),
        pytest.param("linux_yum_lock.stdout", None, id="no-summary"),
        pytest.param("healthcheck_fail.stdout", None, id="healthcheck-has-none"),
    ],
)
def test_given_patch_output_when_parsed_then_counts_match(name: str, expected: PatchCounts | None) -> None:
    assert parse_patch_summary((LOGS / name).read_text()) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "a [INFO]: Summary: {'InstalledCount': 1, 'OperationType': 'Scan'}\n"
            "b [INFO]: Summary: {'InstalledCount': 2, 'MissingCount': 5, 'OperationType': 'Install'}\n",
            PatchCounts(operation="Install", installed=2, missing=5),
            id="last-summary-wins",
        ),
        pytest.param(
            "x [INFO]: Summary: {'InstalledCount': 3, 'Start': datetime.datetime(2024, 6, 11, 2, 0), "
            "'FailedCount': 1, 'OperationType': 'Install'}",
            PatchCounts(operation="Install", installed=3, failed=1),
            id="not-a-literal-falls-back-to-pairs",
        ),
        pytest.param(
            "Summary: {'InstalledCount': True, 'MissingCount': -1, 'FailedCount': '4',"
            " 'Nested': {'a': [1, None]}}",
            PatchCounts(installed=None, missing=None, failed=4),
            id="bool-and-negative-are-none",
        ),
        pytest.param("Summary: {__import__('os').system('false')}", None, id="code-is-never-run"),
        pytest.param("Summary: {'InstalledCount': 1", None, id="unterminated"),
        pytest.param("Summary: {'BaselineId': 'pb-1'}", None, id="no-counts"),
        pytest.param("Transaction Summary\n=====\nUpgrade 3 Packages", None, id="yum-transaction-summary"),
        pytest.param("Summary: " + "{" * 5000 + "}" * 5000, None, id="deep-nesting"),
        pytest.param(
            "Patch Summary for HOST\r\nOperationType : Scan\r\nMissingCount  : 7\r\n\r\nInstalledCount : 99",
            PatchCounts(operation="Scan", missing=7),
            id="windows-crlf-block-ends-at-blank-line",
        ),
        pytest.param(
            "Summary: {'InstalledCount': 1, 'OperationType': 'Install'}\n"
            "Patch Summary for HOST\nOperationType : Scan\nInstalledCount : 5\n",
            PatchCounts(operation="Scan", installed=5),
            id="later-of-linux-and-windows",
        ),
        pytest.param("", None, id="empty"),
    ],
)
def test_given_summary_text_when_parsed_then_counts_or_none(text: str, expected: PatchCounts | None) -> None:
    assert parse_patch_summary(text) == expected


# --------------------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_given_any_text_when_parsed_for_patch_summary_then_never_raises(text: str) -> None:
    result = parse_patch_summary(text)

    assert result is None or isinstance(result, PatchCounts)
