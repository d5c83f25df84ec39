"""digest.compliance: DescribeInstancePatchStates' items as patch states, and the fleet's counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from instance_hygiene.digest.compliance import (
    FleetCompliance,
    PatchState,
    compliance_dict,
    describe,
    describe_instance,
    instance_compliance,
    instance_dict,
    parse_patch_state,
    summarise_fleet,
    unavailable,
)
from instance_hygiene.digest.model import group_failures, with_patch_states
from tests.support.digests import yum_lock

# The item of the AWS CLI's example for describe-instance-patch-states (aws/aws-cli,
# awscli/examples/ssm/describe-instance-patch-states.rst), with the member types of botocore's
# InstancePatchState: times are datetimes once botocore parses them.
PDT = timezone(timedelta(hours=-7))
CLI_EXAMPLE: dict[str, Any] = {
    "InstanceId": "i-1234567890abcdef0",
    "PatchGroup": "my-patch-group",
    "BaselineId": "pb-0713accee01234567",
    "SnapshotId": "521c3536-930c-4aa9-950e-01234567abcd",
    "CriticalNonCompliantCount": 2,
    "SecurityNonCompliantCount": 2,
    "OtherNonCompliantCount": 1,
    "InstalledCount": 123,
    "InstalledOtherCount": 334,
    "InstalledPendingRebootCount": 0,
    "InstalledRejectedCount": 0,
    "MissingCount": 1,
    "FailedCount": 2,
    "UnreportedNotApplicableCount": 11,
    "NotApplicableCount": 2063,
    "OperationStartTime": datetime(2021, 5, 3, 11, 0, 56, tzinfo=PDT),
    "OperationEndTime": datetime(2021, 5, 3, 11, 1, 9, tzinfo=PDT),
    "Operation": "Scan",
    "LastNoRebootInstallOperationTime": datetime(2020, 6, 14, 12, 17, 41, tzinfo=PDT),
    "RebootOption": "RebootIfNeeded",
}


def state(instance_id: str, **counts: int) -> PatchState:
    return PatchState(instance_id=instance_id, operation="Install", **counts)  # type: ignore[arg-type]


def test_given_the_cli_example_when_parsed_then_its_counts_and_times_are_kept() -> None:
    parsed = parse_patch_state(CLI_EXAMPLE)

    assert parsed is not None
    assert (parsed.instance_id, parsed.operation, parsed.patch_group) == (
        "i-1234567890abcdef0",
        "Scan",
        "my-patch-group",
    )
    assert (parsed.missing, parsed.failed, parsed.installed, parsed.not_applicable) == (1, 2, 123, 2063)
    assert (parsed.critical_non_compliant, parsed.security_non_compliant, parsed.other_non_compliant) == (
        2,
        2,
        1,
    )
    assert parsed.operation_end == datetime(2021, 5, 3, 18, 1, 9, tzinfo=UTC)
    assert not parsed.compliant


def test_given_the_boxed_counts_left_out_or_malformed_when_parsed_then_they_count_zero() -> None:
    # InstalledPendingRebootCount and the NonCompliant counts are boxed (may be absent) in the model.
    boxed = ("InstalledPendingRebootCount", "CriticalNonCompliantCount", "SecurityNonCompliantCount")
    raw = {k: v for k, v in CLI_EXAMPLE.items() if k not in boxed}
    raw |= {"MissingCount": 0, "OtherNonCompliantCount": True, "FailedCount": -1}

    parsed = parse_patch_state(raw)

    assert parsed is not None
    assert (parsed.installed_pending_reboot, parsed.failed, parsed.critical_non_compliant) == (0, 0, 0)
    assert parsed.other_non_compliant == 0, "a boolean is not a count"
    assert parsed.compliant


def test_given_an_item_without_an_instance_id_when_parsed_then_it_is_skipped() -> None:
    assert parse_patch_state({k: v for k, v in CLI_EXAMPLE.items() if k != "InstanceId"}) is None


def test_given_each_non_compliant_count_when_judged_then_the_instance_is_not_compliant() -> None:
    # botocore's model: nodes with patches installed pending reboot, or Critical, Security or Other
    # non-compliant ones, are NON_COMPLIANT (DescribePatchGroupState, InstancePatchState docs).
    for count in (
        "missing",
        "failed",
        "installed_pending_reboot",
        "critical_non_compliant",
        "security_non_compliant",
        "other_non_compliant",
    ):
        assert not state("i-0123456789abcdef0", **{count: 1}).compliant, count
    assert state("i-0123456789abcdef0", installed=300, installed_other=40, not_applicable=1500).compliant


def test_given_a_fleet_when_summarised_then_each_instance_counts_once_per_state_and_unknowns_are_named() -> (
    None
):
    ids = ["i-00000000000000001", "i-00000000000000002", "i-00000000000000003", "i-00000000000000004"]
    states = [
        state(ids[0], installed=300),
        state(ids[1], missing=3, failed=2, installed_pending_reboot=5, critical_non_compliant=1),
        state(ids[2], security_non_compliant=2, other_non_compliant=1),
        state("i-0000000000000000f", missing=9),  # not one of the task's instances
    ]

    fleet = summarise_fleet(ids, states)

    assert fleet == FleetCompliance(
        instances=4,
        compliant=1,
        with_missing=1,
        with_failed=1,
        pending_reboot=1,
        critical_non_compliant=1,
        security_non_compliant=1,
        no_patch_state=1,
    )
    assert fleet.non_compliant == 2
    assert describe(fleet) == (
        "1 of 4 instances compliant, 1 with missing patches, 1 with failed patches, 1 installed pending "
        "reboot, 1 critical non-compliant, 1 security non-compliant, 1 no patch state reported"
    )


def test_given_a_state_older_than_the_run_when_summarised_then_it_is_counted_stale() -> None:
    run_start = datetime(2026, 12, 3, 4, 28, tzinfo=UTC)
    old = PatchState("i-00000000000000001", "Install", operation_end=datetime(2026, 12, 2, 4, 40, tzinfo=UTC))
    new = PatchState("i-00000000000000002", "Install", operation_end=datetime(2026, 12, 3, 4, 40, tzinfo=UTC))

    fleet = summarise_fleet([old.instance_id, new.instance_id], [old, new], since=run_start)

    assert (fleet.compliant, fleet.stale) == (2, 1)
    assert describe(fleet).endswith("1 state older than this run")


def test_given_a_denied_read_when_summarised_then_the_reason_is_the_whole_line() -> None:
    fleet = unavailable(["i-00000000000000001", "i-00000000000000001"], "AccessDeniedException")

    assert describe(fleet) == "patch compliance unavailable (AccessDeniedException)"
    assert compliance_dict(fleet)["instances"] == 1
    assert compliance_dict(fleet)["unavailable"] == "AccessDeniedException"


# ------------------------------------------------------------------ a failed instance's own state


def test_a_state_this_run_wrote_is_current_and_says_its_counts() -> None:
    parsed = parse_patch_state(CLI_EXAMPLE)
    assert parsed is not None
    requested = CLI_EXAMPLE["OperationStartTime"] - timedelta(minutes=1)

    compliance = instance_compliance(parsed, since=requested)

    assert compliance.current
    assert describe_instance(compliance) == (
        "patch state: installed 123, missing 1, failed 2, pending reboot 0, critical 2, security 2"
    )
    assert instance_dict(compliance)["operation_end"] == "2021-05-03T11:01:09-07:00"


def test_an_earlier_runs_state_says_when_it_was_recorded() -> None:
    # A run that fails before its summary leaves the instance's previous state (aws-ssm-facts):
    # the state ended before this command was requested, so it is not this run's.
    parsed = parse_patch_state(CLI_EXAMPLE)
    assert parsed is not None

    compliance = instance_compliance(parsed, since=datetime(2021, 5, 4, 2, 0, tzinfo=UTC))

    assert not compliance.current
    said = describe_instance(compliance)
    assert said.startswith("last patch state (2021-05-03 18:01 UTC, not this run's): installed 123, ")
    assert instance_dict(compliance)["current"] is False


def test_each_listed_failure_gets_its_own_state_and_the_others_keep_none() -> None:
    groups = group_failures([yum_lock(1, 7021), yum_lock(2, 3053)])
    first = groups[0].failures[0].instance_id
    states = {first: state(first, missing=4, failed=1)}

    (group,) = with_patch_states(groups, states, since=None)

    with_state, without = group.failures
    assert with_state.compliance is not None
    assert with_state.compliance.state.missing == 4
    assert without.compliance is None
