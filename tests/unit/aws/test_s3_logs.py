"""aws.s3_logs: the bounded S3 listing of a command's output, on a stand-in client (no sockets).

The stand-in answers `list_objects_v2` and `get_object` itself, in S3's order and with S3's
StartAfter/MaxKeys/IsTruncated semantics. A million objects are a virtual key space (keys
computed from their index, never stored), so the tests count the pages and measure the memory
of a listing a real flood would need without creating the flood; the flood cases are followed
into the digest's notes too.
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

from instance_hygiene.aws.s3_logs import PAGE_KEYS, S3Logs
from instance_hygiene.digest.collect import ReadStats, build_digest
from instance_hygiene.digest.invocations import Command, Invocation, Plugin
from instance_hygiene.digest.logs import MAX_KEYS_PER_INSTANCE, command_root

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


# ----------------------------------------------------------------------------- followed into the digest


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
