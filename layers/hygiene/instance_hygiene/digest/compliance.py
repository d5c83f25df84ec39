"""The fleet's patch compliance as Systems Manager records it: one `PatchState` per instance
(DescribeInstancePatchStates) and the fleet's summary. Pure (aws/compliance.py reads them).

The counts are the API's InstancePatchState members (botocore's ssm service model). An instance is
counted compliant when none of its patches is missing, failed, installed pending a reboot, or
non-compliant by classification: the model's documentation of DescribePatchGroupState and of the
Critical/Security/OtherNonCompliantCount members calls nodes with any of those NON_COMPLIANT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from instance_hygiene.secrets.redact import clean_field

PATCH_DOCUMENT = "AWS-RunPatchBaseline"


def is_patch_document(name: str) -> bool:
    """AWS-RunPatchBaseline, by name or by ARN (a window task's TaskArn may be either)."""
    return name.rsplit("/", 1)[-1] == PATCH_DOCUMENT


@dataclass(frozen=True)
class PatchState:
    """One instance's high-level patch state, from its last patching operation."""

    instance_id: str
    operation: str
    """Scan or Install."""
    patch_group: str = ""
    baseline_id: str = ""
    installed: int = 0
    installed_other: int = 0
    installed_pending_reboot: int = 0
    installed_rejected: int = 0
    missing: int = 0
    failed: int = 0
    not_applicable: int = 0
    critical_non_compliant: int = 0
    security_non_compliant: int = 0
    other_non_compliant: int = 0
    operation_end: datetime | None = None

    @property
    def compliant(self) -> bool:
        return not (
            self.missing
            or self.failed
            or self.installed_pending_reboot
            or self.critical_non_compliant
            or self.security_non_compliant
            or self.other_non_compliant
        )


def _count(value: Any) -> int:
    """A count as the API gives it; absent (the boxed members may be) or malformed is 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def parse_patch_state(raw: Mapping[str, Any]) -> PatchState | None:
    """One InstancePatchStates[] item; None when it has no instance id."""
    instance_id = raw.get("InstanceId")
    if not isinstance(instance_id, str) or not instance_id:
        return None
    end = raw.get("OperationEndTime")
    return PatchState(
        instance_id=clean_field(instance_id, 64),
        operation=clean_field(raw.get("Operation"), 16),
        patch_group=clean_field(raw.get("PatchGroup"), 256),
        baseline_id=clean_field(raw.get("BaselineId"), 128),
        installed=_count(raw.get("InstalledCount")),
        installed_other=_count(raw.get("InstalledOtherCount")),
        installed_pending_reboot=_count(raw.get("InstalledPendingRebootCount")),
        installed_rejected=_count(raw.get("InstalledRejectedCount")),
        missing=_count(raw.get("MissingCount")),
        failed=_count(raw.get("FailedCount")),
        not_applicable=_count(raw.get("NotApplicableCount")),
        critical_non_compliant=_count(raw.get("CriticalNonCompliantCount")),
        security_non_compliant=_count(raw.get("SecurityNonCompliantCount")),
        other_non_compliant=_count(raw.get("OtherNonCompliantCount")),
        operation_end=end if isinstance(end, datetime) else None,
    )


@dataclass(frozen=True)
class FleetCompliance:
    """How many of a task's instances are in each patch state (an instance may be in several:
    missing and failed patches, say). `unavailable` says why there are no counts at all."""

    instances: int
    compliant: int = 0
    with_missing: int = 0
    with_failed: int = 0
    pending_reboot: int = 0
    critical_non_compliant: int = 0
    security_non_compliant: int = 0
    no_patch_state: int = 0
    """Instances Systems Manager has no patch state for (never patched or scanned)."""
    stale: int = 0
    """Instances whose state is from an operation that ended before this window execution started:
    this night's run did not report (it failed before, or never reached the instance)."""
    unavailable: str | None = None
    """Why the states could not be read ("AccessDenied"), or None."""

    @property
    def non_compliant(self) -> int:
        return self.instances - self.compliant - self.no_patch_state


def summarise_fleet(
    instance_ids: Sequence[str], states: Iterable[PatchState], *, since: datetime | None = None
) -> FleetCompliance:
    """The fleet's counts over `instance_ids` (states of other instances are ignored); a state whose
    operation ended before `since` (the window execution's start) is counted, and also as stale."""
    wanted = set(instance_ids)
    found = {state.instance_id: state for state in states if state.instance_id in wanted}
    reported = list(found.values())
    return FleetCompliance(
        instances=len(wanted),
        compliant=sum(s.compliant for s in reported),
        with_missing=sum(s.missing > 0 for s in reported),
        with_failed=sum(s.failed > 0 for s in reported),
        pending_reboot=sum(s.installed_pending_reboot > 0 for s in reported),
        critical_non_compliant=sum(s.critical_non_compliant > 0 for s in reported),
        security_non_compliant=sum(s.security_non_compliant > 0 for s in reported),
        no_patch_state=len(wanted) - len(reported),
        stale=sum(
            since is not None and s.operation_end is not None and s.operation_end < since for s in reported
        ),
    )


def unavailable(instance_ids: Sequence[str], code: str) -> FleetCompliance:
    """No counts: the states could not be read (`code` is the API's error code)."""
    return FleetCompliance(instances=len(set(instance_ids)), unavailable=clean_field(code, 64) or "error")


def describe(fleet: FleetCompliance) -> str:
    """One line a person reads: what is compliant, what is not, and what is unknown."""
    if fleet.unavailable:
        return f"patch compliance unavailable ({fleet.unavailable})"
    parts = [f"{fleet.compliant} of {fleet.instances} instances compliant"]
    parts += [
        f"{count} {label}"
        for count, label in (
            (fleet.with_missing, "with missing patches"),
            (fleet.with_failed, "with failed patches"),
            (fleet.pending_reboot, "installed pending reboot"),
            (fleet.critical_non_compliant, "critical non-compliant"),
            (fleet.security_non_compliant, "security non-compliant"),
            (fleet.no_patch_state, "no patch state reported"),
            (fleet.stale, "state older than this run"),
        )
        if count
    ]
    return ", ".join(parts)


def compliance_dict(fleet: FleetCompliance) -> dict[str, Any]:
    return {
        "instances": fleet.instances,
        "compliant": fleet.compliant,
        "with_missing": fleet.with_missing,
        "with_failed": fleet.with_failed,
        "installed_pending_reboot": fleet.pending_reboot,
        "critical_non_compliant": fleet.critical_non_compliant,
        "security_non_compliant": fleet.security_non_compliant,
        "no_patch_state": fleet.no_patch_state,
        "stale": fleet.stale,
        "unavailable": fleet.unavailable,
    }


@dataclass(frozen=True)
class InstanceCompliance:
    """A failed instance's patch state as Systems Manager records it. `current`: its operation
    ended after this run was requested, so this run wrote it; else it is an earlier run's (a run
    that fails before its summary leaves the instance's previous state)."""

    state: PatchState
    current: bool


def instance_compliance(state: PatchState, *, since: datetime | None) -> InstanceCompliance:
    end = state.operation_end
    return InstanceCompliance(state, current=since is None or (end is not None and end >= since))


def describe_instance(compliance: InstanceCompliance) -> str:
    """`patch state: installed 3, missing 4, failed 1, pending reboot 0, critical 1`; an earlier
    run's state says when it was recorded."""
    state = compliance.state
    counts = [
        ("installed", state.installed),
        ("missing", state.missing),
        ("failed", state.failed),
        ("pending reboot", state.installed_pending_reboot),
    ]
    counts += [
        (label, n)
        for label, n in (
            ("critical", state.critical_non_compliant),
            ("security", state.security_non_compliant),
        )
        if n
    ]
    listed = ", ".join(f"{label} {n}" for label, n in counts)
    if compliance.current:
        return f"patch state: {listed}"
    end = state.operation_end
    when = f"{end.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if end is not None else "an earlier run"
    return f"last patch state ({when}, not this run's): {listed}"


def instance_dict(compliance: InstanceCompliance) -> dict[str, Any]:
    state = compliance.state
    end = state.operation_end
    return {
        "current": compliance.current,
        "operation": state.operation,
        "operation_end": end.isoformat() if end is not None else None,
        "installed": state.installed,
        "installed_other": state.installed_other,
        "installed_pending_reboot": state.installed_pending_reboot,
        "installed_rejected": state.installed_rejected,
        "missing": state.missing,
        "failed": state.failed,
        "not_applicable": state.not_applicable,
        "critical_non_compliant": state.critical_non_compliant,
        "security_non_compliant": state.security_non_compliant,
        "other_non_compliant": state.other_non_compliant,
    }
