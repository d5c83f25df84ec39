"""digest.window and its renderings: a task's counts, the night's top causes from the commands' full
reports, the patch task's compliance, and the links of the window e-mail."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from instance_hygiene.aws.publish import full_report_key
from instance_hygiene.digest.compliance import FleetCompliance
from instance_hygiene.digest.model import to_dict as digest_dict
from instance_hygiene.digest.window import (
    CommandRun,
    ReportGroup,
    ReportShapeError,
    TaskCounts,
    TaskRun,
    WindowDigest,
    count_invocations,
    instance_totals,
    is_patch_task,
    parse_command_report,
    top_causes,
)
from instance_hygiene.render.window import console_link, render, subject, text
from tests.support.digests import COMMAND_ID, digest_with, status_failure, yum_lock

WINDOW = "mw-0c1d2e3f4a5b6c7d8"
EXECUTION = "2d3cd36d-aaf3-4cf6-bcb7-587fd7c92f31"
HEALTH_COMMAND = "1a5475e7-ba39-4924-8fb1-a8c5977f4822"
BUCKET = "instance-hygiene-logbucket-1a2b3c4d5e6f"


# --------------------------------------------------------------------------- counts


def test_given_every_documented_invocation_outcome_when_counted_then_each_lands_in_its_severity() -> None:
    # (Status, StatusDetails) pairs: Status from botocore's CommandInvocationStatus enum, details
    # from the model's StatusDetails documentation ("Delivery Timed Out", "Execution Timed Out",
    # "Undeliverable", "Terminated", ...). Which Status an Undeliverable or Terminated invocation
    # has is not documented: it is "not run" whatever its Status.
    invocations = [
        ("Success", "Success"),
        ("Success", "Success"),
        ("Failed", "Failed"),
        ("TimedOut", "Execution Timed Out"),
        ("TimedOut", "Delivery Timed Out"),
        ("Cancelled", "Cancelled"),
        ("Failed", "Undeliverable"),
        ("Cancelled", "Terminated"),
        ("InProgress", "In Progress"),
        ("Delayed", "Delayed"),
    ]

    counts = count_invocations(invocations)

    assert counts == TaskCounts(
        targets=10, succeeded=2, failed=1, timed_out=1, cancelled=1, not_run=3, unfinished=2
    )
    assert counts.not_succeeded == 8
    assert counts + counts == TaskCounts(20, 4, 2, 2, 2, 6, 4)


def test_given_a_task_with_commands_when_counted_then_its_counts_sum_them_and_instances_count_once() -> None:
    patch = CommandRun(
        COMMAND_ID,
        counts=TaskCounts(targets=3, succeeded=2, failed=1),
        instance_ids=("i-1", "i-2", "i-3"),
        not_succeeded_ids=("i-3",),
    )
    health = CommandRun(
        HEALTH_COMMAND,
        counts=TaskCounts(targets=3, succeeded=1, timed_out=2),
        instance_ids=("i-1", "i-2", "i-3"),
        not_succeeded_ids=("i-2", "i-3"),
    )
    report = night(commands=(patch,), health=(health,))

    assert report.tasks[0].counts == TaskCounts(targets=3, succeeded=2, failed=1)
    assert instance_totals(report) == (2, 3), "i-3 failed in both tasks: one instance"
    assert replace(report.tasks[0], commands=(CommandRun(COMMAND_ID),)).counts is None


def test_a_patch_task_is_known_by_its_document_name_or_arn() -> None:
    task = night().tasks[0]

    assert is_patch_task(task)
    assert is_patch_task(replace(task, task_arn="arn:aws:ssm:eu-west-2::document/AWS-RunPatchBaseline"))
    assert not is_patch_task(night().tasks[1])


# --------------------------------------------------------------------------- full reports


def full_report() -> dict[str, Any]:
    """What the command function writes for COMMAND_ID: `to_dict` of its digest (digest@1)."""
    failures = [yum_lock(n, pid=900 + n) for n in range(3)]
    failures.append(status_failure(9, "Cancelled", "cancelled: the window's cutoff was reached"))
    return digest_dict(digest_with(failures))


def test_given_the_product_s_own_report_when_read_then_its_groups_are_the_causes() -> None:
    status, groups = parse_command_report(full_report(), command_id=COMMAND_ID)

    assert status == "Failed"
    assert groups == (
        ReportGroup("yum lock held by another process (pid 900)", "failed", 3),
        ReportGroup("cancelled: the window's cutoff was reached", "cancelled", 1),
    )


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda d: [], "it is not a JSON object"),
        (
            lambda d: {**d, "schema": "instance-hygiene/digest@2"},
            "its schema is not instance-hygiene/digest@1",
        ),
        (lambda d: {**d, "command_id": HEALTH_COMMAND}, "it is about another command"),
        (lambda d: {**d, "groups": {"reason": "x"}}, "its groups are not a list of at most 1,000"),
        (lambda d: {**d, "groups": [*d["groups"], "x"]}, "groups[2] is not an object"),
        (lambda d: {**d, "groups": [{**d["groups"][0], "reason": " "}]}, "groups[0].reason is not a text"),
        (
            lambda d: {**d, "groups": [{**d["groups"][0], "outcome": "boom"}]},
            "groups[0].outcome is not one of",
        ),
        (lambda d: {**d, "groups": [{**d["groups"][0], "count": -1}]}, "groups[0].count is not a count"),
        (lambda d: {**d, "groups": [{**d["groups"][0], "count": True}]}, "groups[0].count is not a count"),
        (
            lambda d: {**d, "groups": [{**d["groups"][0], "next_step": 3}]},
            "groups[0].next_step is not a text",
        ),
    ],
)
def test_given_an_object_that_is_not_the_command_s_report_when_read_then_it_says_why(
    mutate: Any, why: str
) -> None:
    with pytest.raises(ReportShapeError, match=why.replace("[", r"\[").replace("]", r"\]")):
        parse_command_report(mutate(full_report()), command_id=COMMAND_ID)


def test_given_a_secret_in_a_report_s_reason_when_read_then_it_is_redacted() -> None:
    document = full_report()
    document["groups"][0]["reason"] = (
        "curl failed: Authorization: Bearer ghp_0123456789abcdefghijABCDEFGHIJ012345"
    )

    _, groups = parse_command_report(document, command_id=COMMAND_ID)

    assert "ghp_0123456789" not in groups[0].reason
    assert "REDACTED" in groups[0].reason


def test_given_causes_of_several_commands_when_merged_then_worst_outcome_first_then_largest_at_most_5() -> (
    None
):
    patch = CommandRun(
        COMMAND_ID,
        groups=(
            ReportGroup("yum lock held by another process (pid 900)", "failed", 3, "stop the other yum"),
            ReportGroup("cancelled: the window's cutoff was reached", "cancelled", 4),
            *(
                ReportGroup(f"unreachable {name}", "not run", 1)
                for name in ("alpha", "beta", "gamma", "delta")
            ),
        ),
    )
    health = CommandRun(
        HEALTH_COMMAND,
        groups=(
            # The same cause with another pid: one cause of the night (grouped by signature).
            ReportGroup("yum lock held by another process (pid 4242)", "failed", 2),
            ReportGroup("disk / below MinFreeDiskPercent", "failed", 1, "free space on /"),
            ReportGroup("execution timed out in step Healthcheck", "timed out", 6),
        ),
    )

    causes, left_out = top_causes(night(commands=(patch,), health=(health,)))

    assert [(c.outcome, c.count) for c in causes] == [
        ("failed", 5),
        ("failed", 1),
        ("timed out", 6),
        ("cancelled", 4),
        ("not run", 1),
    ]
    assert causes[0].next_step == "stop the other yum"
    assert causes[0].command_ids == (COMMAND_ID, HEALTH_COMMAND)
    assert left_out == 3


# --------------------------------------------------------------------------- the report


def night(
    *,
    commands: tuple[CommandRun, ...] = (),
    health: tuple[CommandRun, ...] = (),
    compliance: FleetCompliance | None = None,
) -> WindowDigest:
    """A FAILED night: the patch task ran `commands`, the healthcheck `health`."""
    return WindowDigest(
        window_id=WINDOW,
        window_name="PatchWithHealthcheck",
        window_execution_id=EXECUTION,
        status="FAILED",
        status_details="One or more tasks in the orchestration failed.",
        tasks=(
            TaskRun(
                task_id="t-1",
                name="Patch",
                task_arn="AWS-RunPatchBaseline",
                priority=10,
                status="FAILED",
                command_ids=tuple(c.command_id for c in commands) or (COMMAND_ID,),
                commands=commands,
                compliance=compliance,
            ),
            TaskRun(
                task_id="t-2",
                name="Healthcheck",
                task_arn="instance-hygiene-Healthcheck",
                priority=20,
                status="SUCCESS" if not health else "TIMED_OUT",
                command_ids=tuple(c.command_id for c in health),
                commands=health,
            ),
        ),
        region="eu-west-2",
        start=datetime(2026, 12, 3, 4, 28, tzinfo=UTC),
        end=datetime(2026, 12, 3, 5, 43, tzinfo=UTC),
    )


def read_night() -> WindowDigest:
    """A night whose patch command's report was read and whose healthcheck report is not there yet."""
    key = f"{full_report_key('reports/', COMMAND_ID, 'Failed')}.json"
    _, groups = parse_command_report(full_report(), command_id=COMMAND_ID)
    patch = CommandRun(
        COMMAND_ID,
        counts=TaskCounts(targets=50, succeeded=46, failed=3, cancelled=1),
        instance_ids=tuple(f"i-{n:017x}" for n in range(50)),
        not_succeeded_ids=tuple(f"i-{n:017x}" for n in range(4)),
        report_bucket=BUCKET,
        report_key=key,
        report_status="Failed",
        groups=groups,
    )
    health = CommandRun(
        HEALTH_COMMAND,
        counts=TaskCounts(targets=50, succeeded=48, timed_out=2),
        instance_ids=patch.instance_ids,
        not_succeeded_ids=("i-00000000000000000", "i-00000000000000031"),
        report_note="its notification is on the way (its full report is not written yet)",
    )
    compliance = FleetCompliance(
        instances=50, compliant=44, with_missing=3, pending_reboot=2, no_patch_state=3
    )
    return night(commands=(patch,), health=(health,), compliance=compliance)


def test_the_subject_counts_tasks_and_instances_each_once() -> None:
    assert subject(read_night()) == (
        "FAILED window PatchWithHealthcheck: 2 of 2 tasks, 5 of 50 instances did not succeed"
    )
    assert subject(night()) == "FAILED window PatchWithHealthcheck: 1 of 2 tasks did not succeed"


def test_the_email_gives_tasks_counts_causes_compliance_then_links_in_that_order() -> None:
    email = text(read_night())

    assert email.split("\n")[:13] == [
        "eu-west-2: Maintenance window PatchWithHealthcheck (mw-0c1d2e3f4a5b6c7d8): FAILED",
        "execution 2d3cd36d-aaf3-4cf6-bcb7-587fd7c92f31, 2026-12-03 04:28 to 05:43 UTC",
        "One or more tasks in the orchestration failed.",
        "",
        "Tasks:",
        "- priority 10: Patch [AWS-RunPatchBaseline] FAILED: 50 instances, 46 succeeded, 3 failed, "
        "1 cancelled",
        "    patch compliance: 44 of 50 instances compliant, 3 with missing patches, 2 installed pending "
        "reboot, 3 no patch state reported",
        "- priority 20: Healthcheck [instance-hygiene-Healthcheck] TIMED_OUT: 50 instances, 48 succeeded, "
        "2 timed out",
        "",
        "Top causes:",
        "1. yum lock held by another process (pid 900) - 3 instances (failed)",
        "2. cancelled: the window's cutoff was reached - 1 instance (cancelled)",
        "",
    ]
    links = email[email.index("Links:") :].split("\n")
    assert links[1] == (
        "- execution: https://eu-west-2.console.aws.amazon.com/systems-manager/maintenance-windows/"
        "mw-0c1d2e3f4a5b6c7d8/history/2d3cd36d-aaf3-4cf6-bcb7-587fd7c92f31?region=eu-west-2"
    )
    assert links[2] == (
        f"- Patch command {COMMAND_ID}: https://eu-west-2.console.aws.amazon.com/systems-manager/"
        f"run-command/{COMMAND_ID}?region=eu-west-2"
    )
    assert links[3] == (
        f"    full report: https://s3.console.aws.amazon.com/s3/object/{BUCKET}?region=eu-west-2"
        f"&prefix=reports/{COMMAND_ID}/Failed.txt"
    )
    assert links[5] == "    its notification is on the way (its full report is not written yet)"


def test_a_next_step_is_shown_under_its_cause() -> None:
    patch = CommandRun(COMMAND_ID, groups=(ReportGroup("yum lock", "failed", 2, "stop the other yum"),))

    email = text(night(commands=(patch,)))

    assert "1. yum lock - 2 instances (failed)\n   next step: stop the other yum\n" in email


def test_the_machine_json_adds_counts_commands_compliance_and_causes_within_schema_1() -> None:
    report = json.loads(render(read_night()).machine)

    assert report["schema"] == "instance-hygiene/window-report@1"
    patch, health = report["tasks"]
    assert patch["counts"] == {
        "targets": 50,
        "succeeded": 46,
        "failed": 3,
        "timed_out": 0,
        "cancelled": 1,
        "not_run": 0,
        "unfinished": 0,
    }
    assert patch["commands"][0]["report"] == f"s3://{BUCKET}/reports/{COMMAND_ID}/Failed.json"
    assert health["commands"][0]["report"] is None
    assert health["commands"][0]["report_note"].startswith("its notification is on the way")
    assert patch["compliance"]["compliant"] == 44
    assert health["compliance"] is None
    assert [c["count"] for c in report["causes"]] == [3, 1]
    assert report["causes_omitted"] == 0


def test_the_console_link_is_the_execution_s_page_and_ids_cannot_change_the_path() -> None:
    hostile = replace(night(), window_id="mw-1/../../iam", window_execution_id="x?y#z")

    link = console_link(hostile)

    assert link.startswith("https://eu-west-2.console.aws.amazon.com/systems-manager/maintenance-windows/")
    assert "mw-1%2F..%2F..%2Fiam/history/x%3Fy%23z?region=eu-west-2" in link


def test_the_first_line_names_the_account_region_and_the_nights_local_date() -> None:
    report = replace(read_night(), account="123456789012", region="eu-west-2", local_date="2026-12-03")

    assert text(report).split("\n")[0] == (
        "account 123456789012, eu-west-2: Maintenance window PatchWithHealthcheck (mw-0c1d2e3f4a5b6c7d8): "
        "FAILED, 2026-12-03"
    )
    # A region that is not one is left out, whatever the event carried.
    assert (
        text(replace(report, region="evil.example/#"))
        .split("\n")[0]
        .startswith("account 123456789012: Maintenance window")
    )
