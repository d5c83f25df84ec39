"""A failed instance whose log folder is flooded, end to end on moto + our SSM stand-in.

Issue 10: one instance with a million objects under its command's prefix made the single listing
hold ~970 MB. Here the flood is 5,000 objects (moto sorts the whole bucket on every page, so a
million would take hours); the million-object case, its pages and its memory, is in
tests/unit/digest/test_logs.py on a stand-in client, and its time and memory against the old
listing in bench/flood.py.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from moto.s3.models import s3_backends

from instance_hygiene.digest.logs import MAX_KEYS_PER_INSTANCE, command_root
from local.fleet_sim import InstanceResult, command_event
from tests.faults import Faults, RetryClock, wire
from tests.integration.test_command_handler import linux_patch, log, night, play
from tests.integration.test_faults import S3_LOGGED, failures_by_name, invoke, only_digest
from tests.support.stack import BUCKET, REGION, Stack

FLOOD = 5_000
ACCOUNT = "123456789012"


@pytest.fixture
def aws(
    stack: Stack, command_function: ModuleType, clock: RetryClock, monkeypatch: pytest.MonkeyPatch
) -> Faults:
    faults = Faults(clock)
    wire(monkeypatch, command_function, faults)
    return faults


def flood(command_id: str, instance_id: str, count: int, *, under: str = "PatchLinux/dump") -> None:
    """`count` objects in the instance's folder, written straight into moto (set-up speed only);
    by default they sort before the step's own stdout."""
    backend = s3_backends[ACCOUNT]["aws"]
    folder = f"{command_root('ssm_output/', command_id)}{instance_id}/awsrunShellScript/{under}"
    for n in range(count):
        backend.put_object(BUCKET, f"{folder}/{n:06d}", b"x", disable_notification=True)


def test_a_failed_instance_flooding_its_folder_costs_two_pages_and_is_told_in_the_digest(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    outcomes = night(stack)
    (flooder,) = stack.instances(1, name="flood")
    outcomes[flooder] = InstanceResult(
        "Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout"))
    )
    played = play(stack, outcomes=outcomes)
    flood(played.command_id, flooder, FLOOD)

    invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    failures = failures_by_name(digest)
    assert {n for n, f in failures.items() if f["log"]["source"] == "s3"} == S3_LOGGED
    assert failures["flood-01"]["log"]["source"] == "api", "its stdout sorts after the first 1,000 keys"
    assert "yum lock" in failures["flood-01"]["reason"], "still explained, from the API's output"
    (note,) = [n for n in digest["notes"] if "objects in their log folder" in n]
    assert f"more than {MAX_KEYS_PER_INSTANCE:,} objects in their log folder" in note
    assert "(flood-01): only the first 1,000 of each were looked at" in note
    assert "For 1 of them (flood-01) the failed step's log was not among those looked at" in note
    (missing,) = [n for n in digest["notes"] if "wrote no log" in n]
    assert "db-01" in missing
    assert "flood-01" not in missing, "a folder cut short is not a missing log"
    full_listing = -(-(FLOOD + len(played.keys_written)) // 1000)
    assert full_listing == 6
    assert aws.calls[("s3", "ListObjectsV2")] <= 3, "the flooder's first 1,001 keys, then past it"


def test_a_flooded_folder_whose_log_sorts_first_still_shows_the_log(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    outcomes = night(stack)
    (flooder,) = stack.instances(1, name="flood")
    outcomes[flooder] = InstanceResult(
        "Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout"))
    )
    played = play(stack, outcomes=outcomes)
    flood(played.command_id, flooder, FLOOD, under="zz-after-the-steps")

    invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    assert failures_by_name(digest)["flood-01"]["log"]["source"] == "s3"
    (note,) = [n for n in digest["notes"] if "objects in their log folder" in n]
    assert "Each one's failed step log was among those looked at and is shown." in note


def test_a_flooded_folder_of_an_instance_that_succeeded_is_jumped_over(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    first, fine, last = (f"i-{n:017x}" for n in (1, 2, 3))  # not in EC2: names are not the point
    failed = InstanceResult("Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout")))
    ok = InstanceResult("Success", "Success", linux_patch("Success", 0, "Patch operation succeeded\n"))
    played = play(stack, outcomes={first: failed, fine: ok, last: failed})
    flood(played.command_id, fine, FLOOD)

    invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    assert {
        f["instance_id"] for g in digest["groups"] for f in g["failures"] if f["log"]["source"] == "s3"
    } == {
        first,
        last,
    }
    assert not any("objects in their log folder" in n for n in digest["notes"])
    assert aws.calls[("s3", "ListObjectsV2")] == 2, "one page runs into the flood, the next starts past it"
