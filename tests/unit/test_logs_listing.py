"""The bounded log listing: the pure plan, the S3 adapter on a stand-in client, and the digest's notes.

A million objects are a virtual key space here (keys computed from their index, never stored), so
the tests can count the pages and measure the memory of a listing that a real flood would need
without creating the flood. No sockets: the stand-in client answers `list_objects_v2` and
`get_object` itself, in S3's order and with S3's StartAfter/MaxKeys/IsTruncated semantics.
"""

from __future__ import annotations

import bisect
import heapq
import io
import itertools
import tracemalloc
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from instance_hygiene.fleet import Command, Invocation, Plugin
from instance_hygiene.logs import (
    MAX_KEYS_PER_INSTANCE,
    PAGE_KEYS,
    ListingPlan,
    LocalLogs,
    S3Logs,
    build_index,
    command_root,
    find_streams,
)
from instance_hygiene.report import ReadStats, build_digest

BUCKET = "logs"
COMMAND_ID = "0b4f9a2e-6c1d-4e8f-9a7b-3c2d1e0f4a5b"
ROOT = command_root("ssm_output/", COMMAND_ID)
FLOODER = "i-0000000000000f100"
STDOUT = b"06/11/2024 02:00:41 root [ERROR]: Patch operation failed: unable to acquire yum lock\n"


class Flood(Sequence[str]):
    """`count` keys under one instance's PatchLinux folder, computed on demand, in S3's order (they
    sort before that step's own `stdout`)."""

    def __init__(self, instance: str, count: int) -> None:
        self.base = f"{ROOT}{instance}/awsrunShellScript/PatchLinux/dump/"
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.count))]
        if not 0 <= index < self.count:
            raise IndexError(index)
        return f"{self.base}{index:08d}"


class StandInS3:
    """`list_objects_v2` and `get_object` over stored keys plus optional virtual floods; counts calls."""

    def __init__(self, objects: dict[str, bytes], floods: Sequence[Flood] = ()) -> None:
        self.objects = objects
        self._sorted = sorted(objects)
        self.floods = list(floods)
        self.requests: list[dict[str, Any]] = []
        self.fail_listing: ClientError | None = None

    def _after(self, keys: Sequence[str], start: str) -> Iterator[str]:
        return (keys[i] for i in range(bisect.bisect_right(keys, start), len(keys)))

    def list_objects_v2(self, **params: Any) -> dict[str, Any]:
        self.requests.append(params)
        if self.fail_listing is not None:
            raise self.fail_listing
        prefix, start, limit = params["Prefix"], params.get("StartAfter", ""), params.get("MaxKeys", 1000)
        merged = heapq.merge(self._after(self._sorted, start), *(self._after(f, start) for f in self.floods))
        page = list(itertools.islice((k for k in merged if k.startswith(prefix)), limit + 1))
        contents = [{"Key": k, "Size": len(self.objects.get(k, b"x"))} for k in page[:limit]]
        return {"Contents": contents, "IsTruncated": len(page) > limit, "KeyCount": len(contents)}

    def get_object(self, *, Bucket: str, Key: str, Range: str) -> dict[str, Any]:
        first, last = (int(n) for n in Range.removeprefix("bytes=").split("-"))
        return {"Body": io.BytesIO(self.objects[Key][first : last + 1])}


def key(
    instance: str, step: str = "PatchLinux", stream: str = "stdout", action: str = "awsrunShellScript"
) -> str:
    return f"{ROOT}{instance}/{action}/{step}/{stream}"


def fleet(failed: int, succeeded: int) -> tuple[dict[str, bytes], list[str]]:
    """Objects as the agent writes them: failed instances' PatchLinux stdout, succeeded ones' too."""
    objects: dict[str, bytes] = {}
    failed_ids = [f"i-{n:017x}" for n in range(1, failed + 1)]
    for n in range(1, failed + succeeded + 1):
        objects[key(f"i-{n:017x}")] = STDOUT
    return objects, failed_ids


def full_listing_pages(objects: int) -> int:
    return max(1, -(-objects // PAGE_KEYS))


# ------------------------------------------------------------------------------------------ plan


def test_given_a_page_then_only_the_failed_steps_streams_of_failed_instances_are_kept() -> None:
    plan = ListingPlan(ROOT, {"i-a": "PatchLinux", "i-c": "aws:runShellScript"})
    page = [
        (key("i-a"), 10),
        (key("i-a", stream="stderr"), 11),
        (key("i-a", step="PatchWindows"), 12),  # another step of a failed instance
        (f"{ROOT}i-a/awsrunShellScript/PatchLinux/extra/stdout", 13),  # not the agent's layout
        (key("i-b"), 14),  # an instance that did not fail
        (key("i-c", step="0.awsrunShellScript"), 15),  # schema 1.2: numbered plugin folder
    ]
    plan.take(page, more=False)

    listing = plan.result()
    assert set(listing.index) == {("i-a", "PatchLinux"), ("i-c", "0.awsrunShellScript")}
    streams = find_streams(listing.index, "i-a", "PatchLinux")
    assert streams is not None
    assert (streams.stdout and streams.stdout.size, streams.stderr and streams.stderr.size) == (10, 11)
    assert find_streams(listing.index, "i-c", "aws:runShellScript") is not None
    assert (listing.cut, listing.unlisted, listing.requests) == ({}, frozenset(), 1)
    assert plan.next_start() is None


def test_given_pages_that_end_in_other_folders_then_the_next_page_starts_at_the_next_failed_folder() -> None:
    plan = ListingPlan(ROOT, {"i-b": "PatchLinux", "i-f": "PatchLinux"})
    assert plan.next_start() == f"{ROOT}i-b", "the first page starts just before the first failed folder"

    plan.take([(key("i-b"), 1), (key("i-c"), 1), (key("i-d"), 1)], more=True)
    assert plan.next_start() == f"{ROOT}i-f", "i-d and i-e did not fail: jumped over"

    plan.take([(key("i-f"), 1)], more=True)
    assert plan.next_start() == key("i-f"), "inside a failed folder the listing goes on from the last key"

    plan.take([(key("i-g"), 1)], more=True)
    assert plan.next_start() is None, "past the last failed folder nothing is listed"


def test_given_ids_whose_folders_sort_unlike_the_ids_then_each_folder_is_still_found() -> None:
    # '-' sorts before '/': folder 'i-1-2/' comes before 'i-1/' although 'i-1' < 'i-1-2'.
    plan = ListingPlan(ROOT, {"i-1": "PatchLinux", "i-1-2": "PatchLinux"})
    assert plan.next_start() == f"{ROOT}i-1-2"
    plan.take([(key("i-1-2"), 1)], more=True)
    assert plan.next_start() == key("i-1-2")
    plan.take([(key("i-1"), 1)], more=False)
    assert {instance for instance, _ in plan.result().index} == {"i-1", "i-1-2"}


def test_given_a_folder_over_the_cap_then_it_is_cut_and_skipped_and_the_count_looked_at_kept() -> None:
    plan = ListingPlan(ROOT, {"i-a": "PatchLinux", "i-b": "PatchLinux"}, cap=3)
    flood = [(f"{ROOT}i-a/awsrunShellScript/PatchLinux/dump/{n}", 1) for n in range(5)]
    plan.take(flood[:2], more=True)
    assert plan.next_start() == flood[1][0]
    plan.take([*flood[2:], (key("i-a"), 1)], more=True)

    assert plan.next_start() == f"{ROOT}i-b", "the rest of the flooded folder is never listed"
    plan.take([(key("i-b"), 1)], more=False)
    listing = plan.result()
    assert listing.cut == {"i-a": 3}
    assert {instance for instance, _ in listing.index} == {"i-b"}, "i-a's stdout came after the cap"


def test_given_time_runs_short_then_the_folders_not_passed_are_unlisted() -> None:
    plan = ListingPlan(ROOT, {"i-a": "PatchLinux", "i-b": "PatchLinux", "i-c": "PatchLinux"})
    plan.take([(key("i-a"), 1), (f"{ROOT}i-b/awsrunShellScript/Other/stdout", 1)], more=True)
    plan.stop()

    assert plan.next_start() is None
    listing = plan.result()
    assert listing.unlisted == {"i-b", "i-c"}, "i-b was entered, not finished; i-c never reached"
    assert {instance for instance, _ in listing.index} == {"i-a"}


ids = st.sampled_from(["i-1", "i-1-2", "i-2", "i-12", "mi-1", "i-a"])
keys = st.builds(
    lambda instance, action, step, stream: f"{ROOT}{instance}/{action}/{step}/{stream}",
    ids,
    st.sampled_from(["awsrunShellScript", "awsrunPowerShellScript", "x"]),
    st.sampled_from(["PatchLinux", "PatchWindows", "0.awsrunShellScript", "dump"]),
    st.sampled_from(["stdout", "stderr", "junk"]),
) | st.builds(lambda instance, n: f"{ROOT}{instance}/dump/{n}", ids, st.integers(0, 30))


@settings(max_examples=300, deadline=None)
@given(
    stored=st.sets(keys, max_size=60),
    wanted=st.dictionaries(ids, st.sampled_from(["PatchLinux", "PatchWindows", "aws:runShellScript"])),
    page=st.integers(1, 7),
)
def test_given_any_bucket_then_the_plan_finds_what_a_full_listing_finds_in_no_more_pages(
    stored: set[str], wanted: dict[str, str], page: int
) -> None:
    ordered = sorted(stored)
    plan = ListingPlan(ROOT, wanted, cap=None)
    while (start := plan.next_start()) is not None:
        after = [k for k in ordered if k > start]
        plan.take(((k, 1) for k in after[:page]), more=len(after) > page)

    full = build_index(((k, 1) for k in ordered), ROOT)
    listing = plan.result()
    for instance, step in wanted.items():
        assert find_streams(listing.index, instance, step) == find_streams(full, instance, step)
    assert listing.requests <= max(1, -(-len(ordered) // page))


# ------------------------------------------------------------------------------------- S3 adapter


def test_given_the_normal_case_then_the_listing_takes_no_more_pages_than_a_full_listing() -> None:
    objects, failed = fleet(failed=1200, succeeded=800)
    s3 = StandInS3(objects)

    listing = S3Logs(s3, bucket=BUCKET, prefix="ssm_output/").find(  # type: ignore[arg-type]
        COMMAND_ID, dict.fromkeys(failed, "PatchLinux")
    )

    assert len(listing.index) == 1200
    assert len(s3.requests) <= full_listing_pages(len(objects))
    assert all(r["Prefix"] == ROOT and r["MaxKeys"] == PAGE_KEYS for r in s3.requests)


def test_given_a_million_objects_under_one_failed_instance_then_a_few_pages_and_little_memory() -> None:
    objects, failed = fleet(failed=20, succeeded=20)
    objects[key(FLOODER)] = STDOUT
    flood = Flood(FLOODER, 1_000_000)
    s3 = StandInS3(objects, [flood])
    wanted = dict.fromkeys([*failed, FLOODER], "PatchLinux")

    tracemalloc.start()
    listing = S3Logs(s3, bucket=BUCKET, prefix="ssm_output/").find(COMMAND_ID, wanted)  # type: ignore[arg-type]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert listing.cut == {FLOODER: MAX_KEYS_PER_INSTANCE}
    assert {instance for instance, _ in listing.index} == set(failed), "the flooder's stdout was past the cap"
    # A full listing takes 1,000 pages; this one the flooder's first 1,001 keys and the rest.
    assert len(s3.requests) <= 3
    assert peak < 8 * 1024 * 1024, f"peak {peak:,} B (pages of the stand-in included)"


def test_given_a_flooding_instance_that_did_not_fail_then_its_folder_is_jumped_over() -> None:
    objects, (first, between, last) = fleet(failed=3, succeeded=0)
    s3 = StandInS3(objects, [Flood(between, 1_000_000)])  # `between` succeeded, with a flooded folder

    listing = S3Logs(s3, bucket=BUCKET, prefix="ssm_output/").find(  # type: ignore[arg-type]
        COMMAND_ID, dict.fromkeys([first, last], "PatchLinux")
    )

    assert {instance for instance, _ in listing.index} == {first, last}
    assert listing.cut == {}
    assert len(s3.requests) == 2, "one page runs into the flood, the next one starts past it"
    assert s3.requests[1]["StartAfter"] == f"{ROOT}{last}"


def test_given_time_short_after_a_page_then_no_further_page_starts() -> None:
    objects, failed = fleet(failed=3000, succeeded=0)
    s3 = StandInS3(objects)
    pages_allowed = iter([False, True])

    listing = S3Logs(s3, bucket=BUCKET, prefix="ssm_output/").find(  # type: ignore[arg-type]
        COMMAND_ID, dict.fromkeys(failed, "PatchLinux"), stop=lambda: next(pages_allowed)
    )

    assert len(s3.requests) == 1
    assert len(listing.index) == 1000
    assert len(listing.unlisted) == 2000


def test_given_a_listing_error_then_it_is_raised() -> None:
    s3 = StandInS3({})
    s3.fail_listing = ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "ListObjectsV2")

    with pytest.raises(ClientError):
        S3Logs(s3, bucket=BUCKET, prefix="ssm_output/").find(COMMAND_ID, {"i-a": "PatchLinux"})  # type: ignore[arg-type]


def test_given_nothing_failed_with_a_step_then_nothing_is_listed() -> None:
    s3 = StandInS3(fleet(failed=0, succeeded=3)[0])

    listing = S3Logs(s3, bucket=BUCKET, prefix="ssm_output/").find(COMMAND_ID, {})  # type: ignore[arg-type]

    assert (listing.index, s3.requests) == ({}, [])


def test_given_a_local_copy_then_every_file_is_looked_at(tmp_path: Any) -> None:
    for n in range(3):
        path = tmp_path / f"i-{n}" / "awsrunShellScript" / "PatchLinux" / "stdout"
        path.parent.mkdir(parents=True)
        path.write_bytes(STDOUT)

    listing = LocalLogs(tmp_path).find(COMMAND_ID, {"i-0": "PatchLinux", "i-2": "PatchLinux"})

    assert {instance for instance, _ in listing.index} == {"i-0", "i-2"}
    streams = find_streams(listing.index, "i-2", "PatchLinux")
    assert streams is not None
    assert streams.stdout is not None
    assert LocalLogs(tmp_path).read(streams.stdout).text.head == STDOUT.decode()


# ----------------------------------------------------------------------------------------- digest


def failed_invocation(instance: str) -> Invocation:
    return Invocation(
        instance_id=instance,
        status="Failed",
        status_details="Failed",
        plugins=(
            Plugin(
                "PatchLinux",
                "Failed",
                response_code=1,
                output="Patch operation failed: unable to acquire yum lock",
            ),
            Plugin("PatchWindows", "Skipped"),
        ),
    )


COMMAND = Command(
    command_id=COMMAND_ID,
    document_name="AWS-RunPatchBaseline",
    status="Failed",
    output_bucket=BUCKET,
    output_prefix="ssm_output/",
)


def test_given_a_flooding_failed_instance_then_the_digest_says_what_was_not_looked_at() -> None:
    objects, failed = fleet(failed=3, succeeded=3)
    objects[key(FLOODER)] = STDOUT
    s3 = StandInS3(objects, [Flood(FLOODER, 1_000_000)])
    stats = ReadStats()

    digest = build_digest(
        COMMAND,
        [failed_invocation(i) for i in [*failed, FLOODER]],
        logs=S3Logs(s3, bucket=BUCKET, prefix="ssm_output/"),  # type: ignore[arg-type]
        stats=stats,
    )

    sources = {f.instance_id: f.log.source for g in digest.groups for f in g.failures}
    assert sources == {**dict.fromkeys(failed, "s3"), FLOODER: "api"}
    (note,) = [n for n in digest.notes if "objects in their log folder" in n]
    assert note == (
        f"1 instance(s) hold more than 1,000 objects in their log folder under s3://{BUCKET}/{ROOT} "
        f"({FLOODER}): only the first 1,000 of each were looked at, to keep the notifier within its memory "
        "and time. The rest were skipped without listing them, so how many were not looked at is unknown "
        f"(S3 counts objects only by listing them). For 1 of them ({FLOODER}) the failed step's log was "
        "not among those looked at: the API's truncated output is shown instead."
    )
    assert not any("wrote no log" in n for n in digest.notes), "a cut folder is not a missing log"
    assert digest.partial is False
    assert stats.list_requests == len(s3.requests) <= 3


def test_given_time_short_while_listing_then_the_digest_is_partial_and_calls_nothing_missing() -> None:
    objects, failed = fleet(failed=1500, succeeded=0)
    s3 = StandInS3(objects)
    clock = iter([100.0, 100.0, 1.0])  # listing guard, first page, second page: short from there on

    digest = build_digest(
        COMMAND,
        [failed_invocation(i) for i in failed],
        logs=S3Logs(s3, bucket=BUCKET, prefix="ssm_output/"),  # type: ignore[arg-type]
        remaining_seconds=lambda: next(clock, 1.0),
    )

    assert len(s3.requests) == 1
    assert digest.partial is True
    assert (
        "Partial digest: time ran short while listing the logs; 500 instance(s)' logs were not looked for "
        "and show the API's truncated output."
    ) in digest.notes
    assert not any("wrote no log" in n for n in digest.notes)


# --------------------------------------------------------------------------- forged logs


@pytest.mark.parametrize(
    "relative",
    [
        pytest.param("i-0abc/awsrunShellScript/0.awsrunShellScript/stdout.txt", id="not-a-stream"),
        pytest.param("i-0abc/awsrunShellScript/0.awsrunShellScript/x/stdout", id="one-folder-too-deep"),
        pytest.param("i-0abc/0.awsrunShellScript/stdout", id="no-action-folder"),
        pytest.param("evil/awsrunShellScript/0.awsrunShellScript/stdout", id="not-an-instance"),
        pytest.param("i-0abc/runShellScript/0.awsrunShellScript/stdout", id="not-a-plugin-folder"),
        pytest.param("i-0abc/awsrunShellScript/step with spaces/stdout", id="not-a-step-name"),
    ],
)
def test_given_a_key_outside_the_agents_layout_when_indexed_then_it_is_never_read(relative: str) -> None:
    assert build_index([(f"{ROOT}{relative}", 10)], ROOT) == {}


def test_given_two_objects_for_one_instances_step_when_listed_then_neither_is_read_and_both_are_named() -> (
    None
):
    # Given the agent's stdout and a second one, for the same step, under another action folder
    # (what any instance allowed to write under the prefix can add for another)
    genuine = f"{ROOT}i-0abc/awsrunShellScript/PatchLinux/stdout"
    forged = f"{ROOT}i-0abc/awsrunPowerShellScript/PatchLinux/stdout"
    plan = ListingPlan(ROOT, {"i-0abc": "PatchLinux"})

    # When the listing takes them
    plan.take([(genuine, 10), (forged, 20)], more=False)
    listing = plan.result()

    # Then the step is not in the index (no alphabetically-last pick) and both keys are reported
    assert listing.index == {}
    assert listing.suspicious == {("i-0abc", "PatchLinux"): (genuine, forged)}


def test_given_a_suspicious_step_when_the_digest_is_built_then_a_note_names_it_and_the_api_output_is_shown(
    tmp_path: Any,
) -> None:
    # Given a local copy of the command's output with two stdouts for the failed step
    for action, text in (("awsrunShellScript", "ERROR: genuine\n"), ("awsrunPowerShellScript", "all fine\n")):
        folder = tmp_path / "i-0abc" / action / "0.awsrunShellScript"
        folder.mkdir(parents=True)
        (folder / "stdout").write_text(text)
    command = Command(command_id=COMMAND_ID, document_name="AWS-RunShellScript", status="Failed")
    invocation = Invocation(
        instance_id="i-0abc",
        status="Failed",
        status_details="Failed",
        plugins=(
            Plugin(name="aws:runShellScript", status="Failed", response_code=1, output="ERROR: from the API"),
        ),
    )

    # When the digest is built
    digest = build_digest(command, [invocation], logs=LocalLogs(tmp_path))

    # Then the message says which objects compete, reads neither, and does not call the log missing
    failure = digest.groups[0].failures[0]
    assert failure.log.source == "api"
    assert [note for note in digest.notes if note.startswith("Suspicious log: 2 objects")]
    assert not [note for note in digest.notes if "no log" in note.lower() or "missing" in note.lower()]
