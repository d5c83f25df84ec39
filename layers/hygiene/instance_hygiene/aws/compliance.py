"""Patch compliance as Systems Manager records it per instance: the adapter over
DescribeInstancePatchStates (its request takes at most 50 instance ids: botocore's InstanceIdList).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.digest.compliance import (
    FleetCompliance,
    PatchState,
    parse_patch_state,
    summarise_fleet,
    unavailable,
)
from instance_hygiene.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

LOGGER = logging.getLogger(__name__)

IDS_PER_CALL = 50
"""DescribeInstancePatchStates' InstanceIds: at most 50 (botocore's ssm model, InstanceIdList)."""


def read_patch_states(ssm: SSMClient, instance_ids: Iterable[str]) -> dict[str, PatchState]:
    """The patch state of each instance that has one, by instance id; errors are raised."""
    ids = sorted(set(instance_ids))
    paginator = ssm.get_paginator("describe_instance_patch_states")
    found: dict[str, PatchState] = {}
    for start in range(0, len(ids), IDS_PER_CALL):
        # A page as large as the request (MaxResults 10 to 100; AWS's default page is smaller).
        batch = ids[start : start + IDS_PER_CALL]
        for page in paginator.paginate(InstanceIds=batch, PaginationConfig={"PageSize": IDS_PER_CALL}):
            for raw in page.get("InstancePatchStates", []):
                state = parse_patch_state(raw)
                if state is not None:
                    found[state.instance_id] = state
    return found


def read_fleet_compliance(
    ssm: SSMClient, instance_ids: Iterable[str], *, since: datetime | None = None
) -> FleetCompliance:
    """The fleet's counts; a failed read is a summary that says why (`unavailable`), never raised:
    the window report is sent without the compliance rather than not at all."""
    ids = sorted(set(instance_ids))
    try:
        states = read_patch_states(ssm, ids)
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("patch states unavailable: %s", error)
        return unavailable(ids, error_code(error))
    return summarise_fleet(ids, states.values(), since=since)


def read_failed_patch_states(
    ssm: SSMClient, instance_ids: Iterable[str]
) -> tuple[dict[str, PatchState], str | None]:
    """The patch states of a patch command's failed instances, and a note when they could not be
    read (never raised: the message is sent with the logs' counts instead)."""
    ids = sorted(set(instance_ids))
    if not ids:
        return {}, None
    try:
        return read_patch_states(ssm, ids), None
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("patch states unavailable: %s", error)
        return {}, (
            f"Patch states unavailable ({error_code(error)}): the counts shown are those the logs printed."
        )
