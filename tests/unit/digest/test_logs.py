"""digest.logs: the agent's output layout, the index of streams and the listing plan.

The plan keeps only the failed steps' streams of failed instances, jumps over other folders and
caps a flooded one, and finds what a full listing finds in no more pages; a forged key is never
read.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instance_hygiene.digest.logs import ListingPlan, build_index, command_root, find_streams

COMMAND_ID = "0b4f9a2e-6c1d-4e8f-9a7b-3c2d1e0f4a5b"
ROOT = command_root("ssm_output/", COMMAND_ID)


def key(
    instance: str, step: str = "PatchLinux", stream: str = "stdout", action: str = "awsrunShellScript"
) -> str:
    return f"{ROOT}{instance}/{action}/{step}/{stream}"


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
