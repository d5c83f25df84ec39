"""The Organization scenario format (local.demo.organization_scenario): what org.json plays, and what the
loader refuses, saying where."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from local.demo.organization_scenario import is_organization, parse_organization
from local.demo.scenario import SCENARIOS, ScenarioError

ORG = json.loads((SCENARIOS / "org.json").read_text())


def org(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(ORG)
    raw.update(changes)
    return raw


def test_the_shipped_organization_has_members_in_two_regions_one_without_its_role_one_without_logs() -> None:
    scenario = parse_organization("org", ORG)

    assert is_organization(ORG)
    assert {n.region for m in scenario.members for n in m.nights} == {"eu-west-2", "us-east-1"}
    assert [m.name for m in scenario.members if not m.member_role] == ["payments"]
    assert [m.name for m in scenario.members if not m.instance_role_writes_logs] == ["analytics"]
    assert all(not n.logs_reach_s3 for m in scenario.members if m.name == "analytics" for n in m.nights)
    assert all(10 <= n.size <= 20 for m in scenario.members for n in m.nights), "small fleets"
    seeds = [n.seed for m in scenario.members for n in m.nights]
    assert seeds == [ORG["seed"] + i for i in range(1, len(seeds) + 1)]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda raw: raw["members"][1].update(regoin="x"), r"members\[1\]: unknown key"),
        (lambda raw: raw["members"][1].update(name=raw["members"][0]["name"]), "names repeat"),
        (lambda raw: raw["members"][0].update(alias="Not An Alias"), r"members\[0\]\.alias"),
        (lambda raw: raw["members"][0]["regions"]["eu-west-2"].update(region="us-east-1"), "not here"),
        (lambda raw: raw["members"][0].update(regions={"mars-1": {}}), r"regions\.mars-1"),
        (lambda raw: raw["central"].pop("external_id"), r"central: missing key"),
        (
            lambda raw: raw["members"][0]["regions"]["eu-west-2"]["patch"]["outcomes"].update(
                {"yum-lock": 50}
            ),
            r"members\[0\]\.regions\.eu-west-2\.patch: 51 outcomes listed",
        ),
    ],
    ids=["unknown-key", "repeated-name", "alias", "night-region", "region", "central", "night"],
)
def test_a_broken_organization_is_refused_saying_where(change: Any, where: str) -> None:
    raw = org()
    change(raw)

    with pytest.raises(ScenarioError, match=where):
        parse_organization("org", raw)
