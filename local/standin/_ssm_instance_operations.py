"""Response body of DescribeInstanceInformation, which moto lacks.

The EC2 instances of moto's EC2 backend of the account and region (managed unless the stand-in
was told otherwise, with what the stand-in was told of them) and the managed (hybrid) nodes
registered with the stand-in (``_ssm_state``); it returns a body for ``_ssm_wire.to_wire``.

Behaviour that could not be confirmed against AWS is marked UNVERIFIED where it is decided.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ssm.models import SimpleSystemManagerBackend

from local.standin._ssm_state import (
    PING_STATUSES,
    PLATFORM_TYPES,
    InstanceInformationOverride,
    SsmState,
    as_utc,
    now,
    state_of,
)
from local.standin._ssm_wire import (
    Body,
    Paging,
    max_results,
    paginate,
    service_error,
    validation_error,
)

DEFAULT_AGENT_VERSION = "3.3.1142.0"


# --- instance information --------------------------------------------------------------------


@dataclass(frozen=True)
class _InstanceRow:
    body: Body
    tags: Mapping[str, str]


def _windows_computer_name(instance_id: str) -> str:
    return "EC2AMAZ-" + hashlib.sha256(instance_id.encode()).hexdigest()[:7].upper()


def _ec2_row(instance: Any, tags: Mapping[str, str], override: InstanceInformationOverride) -> _InstanceRow:
    windows = instance.platform == "windows"
    ping = override.ping_status or ("Online" if instance.state == "running" else "ConnectionLost")
    default_computer = _windows_computer_name(instance.id) if windows else instance.private_dns_name
    body: Body = {
        "InstanceId": instance.id,
        "PingStatus": ping,
        "LastPingDateTime": override.last_ping
        or (now() if ping == "Online" else as_utc(instance.launch_time)),
        "AgentVersion": override.agent_version or DEFAULT_AGENT_VERSION,
        "IsLatestVersion": False,
        "PlatformType": override.platform_type or ("Windows" if windows else "Linux"),
        "PlatformName": override.platform_name
        or ("Microsoft Windows Server 2022 Datacenter" if windows else "Amazon Linux"),
        "PlatformVersion": override.platform_version or ("10.0.20348" if windows else "2023"),
        "IamRole": override.iam_role,
        "ResourceType": "EC2Instance",
        "IPAddress": instance.private_ip,
        "ComputerName": override.computer_name or default_computer,
        "SourceId": instance.id,
        "SourceType": "AWS::EC2::Instance",
    }
    return _InstanceRow(body, tags)


def _instance_rows(backend: SimpleSystemManagerBackend, state: SsmState) -> list[_InstanceRow]:
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    with state.lock:
        overrides = dict(state.instance_overrides)
        managed = list(state.managed_instances.values())
    rows = []
    for instance in ec2.all_instances():
        override = overrides.get(instance.id, InstanceInformationOverride())
        if instance.state != "terminated" and override.managed:
            rows.append(_ec2_row(instance, dict(ec2.tags.get(instance.id) or {}), override))
    for node in managed:
        body: Body = {
            "InstanceId": node.instance_id,
            "PingStatus": node.ping_status,
            "LastPingDateTime": node.last_ping,
            "AgentVersion": node.agent_version,
            "IsLatestVersion": False,
            "PlatformType": node.platform_type,
            "PlatformName": node.platform_name,
            "PlatformVersion": node.platform_version,
            "ActivationId": node.activation_id,
            "IamRole": node.iam_role,
            "RegistrationDate": node.registration_date,
            "ResourceType": "ManagedInstance",
            "Name": node.name,
            "IPAddress": node.ip_address,
            "ComputerName": node.computer_name,
            "SourceId": node.instance_id,
            "SourceType": "AWS::SSM::ManagedInstance",
        }
        rows.append(_InstanceRow(body, dict(node.tags)))
    return rows


_INSTANCE_FILTER_FIELDS = {
    "InstanceIds": "InstanceId",
    "AgentVersion": "AgentVersion",
    "PingStatus": "PingStatus",
    "PlatformTypes": "PlatformType",
    "ActivationIds": "ActivationId",
    "IamRole": "IamRole",
    "ResourceType": "ResourceType",
    "AssociationStatus": "AssociationStatus",
}
_INSTANCE_FILTER_VALUES = {
    "PingStatus": PING_STATUSES,
    "PlatformTypes": PLATFORM_TYPES,
    "ResourceType": frozenset({"EC2Instance", "ManagedInstance"}),
}


def _instance_check(key: str, values: Sequence[str], *, tags_allowed: bool) -> Callable[[_InstanceRow], bool]:
    if not values:
        raise service_error(
            "InvalidInstanceInformationFilterValue", f"The filter {key} needs at least one value."
        )
    if tags_allowed and key == "tag-key":
        return lambda row: any(tag in row.tags for tag in values)
    if tags_allowed and key.startswith("tag:"):
        tag = key.removeprefix("tag:")
        return lambda row: row.tags.get(tag) in values
    if key not in _INSTANCE_FILTER_FIELDS:
        raise service_error("InvalidFilterKey", f"The filter key {key} isn't valid.")
    bad = [v for v in values if v not in _INSTANCE_FILTER_VALUES.get(key, values)]
    if bad:
        raise service_error(
            "InvalidInstanceInformationFilterValue", f"{bad[0]} isn't a valid value for {key}."
        )
    field_name = _INSTANCE_FILTER_FIELDS[key]
    return lambda row: row.body.get(field_name) in values


def _instance_filter(params: Mapping[str, Any]) -> Callable[[_InstanceRow], bool]:
    legacy, current = params.get("InstanceInformationFilterList"), params.get("Filters")
    if legacy and current:
        # UNVERIFIED: the error code; AWS documents only that using both fails.
        raise validation_error("InstanceInformationFilterList and Filters can't be used together")
    checks = [
        _instance_check(str(f.get("key")), list(f.get("valueSet") or []), tags_allowed=False)
        for f in legacy or []
    ]
    checks += [
        _instance_check(str(f.get("Key")), list(f.get("Values") or []), tags_allowed=True)
        for f in current or []
    ]
    return lambda row: all(check(row) for check in checks)


def describe_instance_information_body(
    backend: SimpleSystemManagerBackend, params: Mapping[str, Any]
) -> Body:
    state = state_of(backend)
    paging = Paging("DescribeInstanceInformation", params, max_results(params, low=5, high=50, default=50))
    keep = _instance_filter(params)
    rows = [row for row in _instance_rows(backend, state) if keep(row)]
    page, token = paginate(rows, lambda row: (row.body["InstanceId"],), paging)
    return {"InstanceInformationList": [row.body for row in page], "NextToken": token}
