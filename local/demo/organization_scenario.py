"""The Organization scenario format: what local/scenarios/org.json plays (docs/demo.md, "An
Organization"), parsed and checked. It names the central account's region and alias and, per member
account, its alias and a night per region (the one-account format of scenario.py);
organization.py plays it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from local.demo.scenario import SCENARIOS, Scenario, ScenarioError, parse_scenario

ORGANIZATION_KEYS = frozenset({"description", "seed", "central", "members"})
CENTRAL_KEYS = frozenset({"region", "alias", "external_id"})
MEMBER_KEYS = frozenset({"name", "alias", "member_role", "instance_role_writes_logs", "regions"})
NIGHT_KEYS_NOT_HERE = frozenset({"region", "earlier_nights"})
"""Given by the member (the region it is listed under), or not modelled across an Organization."""
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_ALIAS = re.compile(r"^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$")  # IAM CreateAccountAlias (botocore model)
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")  # the template's CentralRegion pattern
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9+=,.@:/-]{2,1224}$")  # the template's ExternalId pattern


# ---------------------------------------------------------------- the scenario


@dataclass(frozen=True)
class Member:
    """A member account: its name in the Organization, its alias, and a night per region where a
    member stack runs its window."""

    name: str
    alias: str
    nights: tuple[Scenario, ...]
    """One per region (each night's `region`)."""
    member_role: bool = True
    """False: its member stacks were deployed without MemberReadRole (the central functions cannot
    assume it)."""
    instance_role_writes_logs: bool = True
    """False: its instances' role may not write to the log bucket: no output reaches S3."""


@dataclass(frozen=True)
class OrganizationScenario:
    name: str
    description: str
    seed: int
    central_region: str
    central_alias: str
    external_id: str
    members: tuple[Member, ...]


def is_organization(raw: Any) -> bool:
    """Whether a scenario file's document is an Organization's (it has members)."""
    return isinstance(raw, Mapping) and "members" in raw


def _keys(where: str, raw: Mapping[str, Any], allowed: Collection[str], required: Collection[str]) -> None:
    unknown, missing = set(raw) - set(allowed), set(required) - set(raw)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    if missing:
        raise ScenarioError(f"{where}: missing key(s) {sorted(missing)}")


def _text(where: str, value: Any, pattern: re.Pattern[str], example: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ScenarioError(f"{where}: {value!r} is not valid (e.g. {example})")
    return value


def _object(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _flag(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(f"{where}: expected true or false, got {value!r}")
    return value


def parse_organization(name: str, raw: Any) -> OrganizationScenario:
    """An Organization scenario from its JSON document, checked (ScenarioError says what is wrong
    where). Each member's night is checked as a scenario of its own; its seed defaults to the
    Organization's plus the member's position (1 for the first)."""
    entry = _object(name, raw)
    _keys(name, entry, ORGANIZATION_KEYS, {"central", "members"})
    seed = entry.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ScenarioError(f"seed: expected a whole number >= 0, got {seed!r}")
    central = _object("central", entry["central"])
    _keys("central", central, CENTRAL_KEYS, CENTRAL_KEYS)
    members_raw = entry["members"]
    if not isinstance(members_raw, list) or not members_raw:
        raise ScenarioError("members: expected a non-empty list of member accounts")
    members = []
    nights = 0
    for number, item in enumerate(members_raw):
        where = f"members[{number}]"
        member = _object(where, item)
        _keys(where, member, MEMBER_KEYS, {"name", "alias", "regions"})
        member_name = _text(f"{where}.name", member["name"], _NAME, "retail")
        writes = _flag(f"{where}.instance_role_writes_logs", member.get("instance_role_writes_logs", True))
        regions = _object(f"{where}.regions", member["regions"])
        if not regions:
            raise ScenarioError(f"{where}.regions: at least one region with its night")
        played = []
        for region, raw_night in regions.items():
            at = f"{where}.regions.{region}"
            _text(at, region, _REGION, "us-east-1")
            night = dict(_object(at, raw_night))
            here = NIGHT_KEYS_NOT_HERE & set(night)
            if here:
                raise ScenarioError(f"{at}: {sorted(here)} not here (the night's region is its key)")
            nights += 1
            night.setdefault("seed", seed + nights)
            try:
                parsed = parse_scenario(member_name, {**night, "region": region})
            except ScenarioError as error:
                raise ScenarioError(f"{at}.{error}") from None
            played.append(replace(parsed, logs_reach_s3=writes))
        members.append(
            Member(
                name=member_name,
                alias=_text(f"{where}.alias", member["alias"], _ALIAS, "example-retail-prod"),
                nights=tuple(played),
                member_role=_flag(f"{where}.member_role", member.get("member_role", True)),
                instance_role_writes_logs=writes,
            )
        )
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise ScenarioError(f"members: names repeat: {names}")
    seeds = [n.seed for m in members for n in m.nights]
    if len(set(seeds)) != len(seeds):
        raise ScenarioError(f"members: the nights' seeds repeat ({seeds}): each plays ids of its own")
    return OrganizationScenario(
        name=name,
        description=str(entry.get("description", "")),
        seed=seed,
        central_region=_text("central.region", central["region"], _REGION, "eu-west-2"),
        central_alias=_text("central.alias", central["alias"], _ALIAS, "example-hygiene-central"),
        external_id=_text("central.external_id", central["external_id"], _EXTERNAL_ID, "hygiene-7f3a9c21"),
        members=tuple(members),
    )


def load_organization(path: Path) -> OrganizationScenario:
    return parse_organization(path.stem, json.loads(path.read_text()))


def organization_names() -> list[str]:
    """The Organization scenarios of local/scenarios."""
    return sorted(p.stem for p in SCENARIOS.glob("*.json") if is_organization(json.loads(p.read_text())))


__all__ = [
    "ORGANIZATION_KEYS",
    "Member",
    "OrganizationScenario",
    "is_organization",
    "load_organization",
    "organization_names",
    "parse_organization",
]
