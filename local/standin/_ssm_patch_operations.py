"""DescribeInstancePatchStates, which moto 5.2 lacks, over the patch states the stand-in records.

Validated against botocore's ssm model (2014-11-06): InstanceIds is required, at most 50 ids each
matching the InstanceId pattern; MaxResults (PatchComplianceMaxResults) is 10 to 100. Instances
with no recorded state are left out of the answer, as in the AWS CLI's example for
describe-instance-patch-states (aws-cli, awscli/examples/ssm/describe-instance-patch-states.rst),
which lists only the states there are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from moto.ssm.models import SimpleSystemManagerBackend

from local.standin._ssm_state import PatchStateRecord, state_of
from local.standin._ssm_wire import Body, Paging, max_results, paginate, validation_error

INSTANCE_IDS_MAX = 50
INSTANCE_ID = re.compile(r"(^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)")
DEFAULT_MAX_RESULTS = 10
"""UNVERIFIED: the page size AWS uses without MaxResults (the model gives only 10 to 100)."""


def _instance_ids(params: Mapping[str, Any]) -> list[str]:
    ids = params.get("InstanceIds")
    if not isinstance(ids, list):
        raise validation_error(
            "Value null at 'instanceIds' failed to satisfy constraint: Member must not be null"
        )
    if len(ids) > INSTANCE_IDS_MAX:
        raise validation_error(
            f"Value '{ids}' at 'instanceIds' failed to satisfy constraint: "
            f"Member must have length less than or equal to {INSTANCE_IDS_MAX}"
        )
    for instance_id in ids:
        if not isinstance(instance_id, str) or not INSTANCE_ID.match(instance_id):
            raise validation_error(
                f"Value '{instance_id}' at 'instanceIds' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {INSTANCE_ID.pattern}"
            )
    return ids


def patch_state_body(record: PatchStateRecord) -> Body:
    """An InstancePatchState with every member the model defines that Patch Manager fills."""
    return {
        "InstanceId": record.instance_id,
        "PatchGroup": record.patch_group,
        "BaselineId": record.baseline_id,
        "SnapshotId": record.snapshot_id,
        "InstalledCount": record.installed,
        "InstalledOtherCount": record.installed_other,
        "InstalledPendingRebootCount": record.installed_pending_reboot,
        "InstalledRejectedCount": record.installed_rejected,
        "MissingCount": record.missing,
        "FailedCount": record.failed,
        "UnreportedNotApplicableCount": 0,
        "NotApplicableCount": record.not_applicable,
        "OperationStartTime": record.operation_start,
        "OperationEndTime": record.operation_end,
        "Operation": record.operation,
        "RebootOption": record.reboot_option,
        "CriticalNonCompliantCount": record.critical_non_compliant,
        "SecurityNonCompliantCount": record.security_non_compliant,
        "OtherNonCompliantCount": record.other_non_compliant,
    }


def describe_instance_patch_states_body(
    backend: SimpleSystemManagerBackend, params: Mapping[str, Any]
) -> Body:
    ids = _instance_ids(params)
    paging = Paging(
        "DescribeInstancePatchStates",
        params,
        max_results(params, low=10, high=100, default=DEFAULT_MAX_RESULTS),
    )
    state = state_of(backend)
    with state.lock:
        records = [state.patch_states[i] for i in dict.fromkeys(ids) if i in state.patch_states]
    page, token = paginate(records, lambda record: (record.instance_id,), paging)
    return {"InstancePatchStates": [patch_state_body(record) for record in page], "NextToken": token}
