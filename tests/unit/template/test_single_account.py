"""A single-account deploy (DeploymentRole=single, the default) creates what it did before the
Organization roles existed, with the same properties, so updating such a stack replaces nothing.

The fixture (tests/fixtures/template/single_account.json) holds what that template created: it
was made from main's template.yaml of commit 167fdc0, the last one before the roles, with
`python -m tests.unit.template.test_single_account <that template.yaml>`. For two parameter sets
(the defaults, and one that turns every optional condition the other way) it records each
resource's Type, Properties, DeletionPolicy and UpdateReplacePolicy (what decides whether
CloudFormation updates or replaces it) and each output's Description and Value, after the SAM
transform and with the conditions applied (tests.cfn.as_deployed).

Two changes are intended, both property updates of the functions, not replacements: the notifier
functions' four new environment variables of the Organization roles (CONTRACT_VARIABLES), and the
morning summary's (SUMMARY_VARIABLES: the ledger is off without a SummarySchedule, and the window
function is told the history table the ledger lives in).

A fixture, not a translation of today's template with the Organization additions stripped: such a
stripping would carry along any change made to a single-account resource by mistake, and the test
would pass. Against the fixture, any change fails. When a single-account resource is changed on
purpose, regenerate the fixture from the new template as above and say so in the commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from local.template import raw_template
from tests.cfn import ROOT, as_deployed, translate, translated_template
from tests.cfn_rules import refusals

FIXTURE = ROOT / "tests" / "fixtures" / "template" / "single_account.json"
# Every optional condition of the single-account template the other way from its default.
EVERY_OPTION = {
    "ScheduleOffset": "2",
    "TargetInstanceIds": "i-0123456789abcdef0,mi-0123456789abcdef0",
    "ExistingInstanceRoleNames": "web-servers,db-servers",
    "CreateInstanceRole": "true",
    "LogArchiveAfterDays": "30",
    "NotificationEmail": "ops@example.com",
    "AlarmEmail": "platform-alarms@example.com",
    "WatchAllCommands": "true",
    "NotifierReservedConcurrency": "10",
    "ExtraRulesParameter": "/instance-hygiene/rules",
    "ScriptsOperatorRoleArn": "arn:aws:iam::123456789012:role/script-admin",
}
PARAMETER_SETS: dict[str, dict[str, str]] = {"defaults": {}, "every_option": EVERY_OPTION}
RESOURCE_KEYS = ("Type", "Properties", "DeletionPolicy", "UpdateReplacePolicy")
# What the Organization roles add to both notifier functions' environment, as a single stack sets it.
CONTRACT_VARIABLES = {
    "DEPLOYMENT_ROLE": {"Ref": "DeploymentRole"},
    "ORGANIZATION_ID": "",
    "MEMBER_ROLE_NAME": "",
    "MEMBER_EXTERNAL_ID": "",
}
NOTIFIER_FUNCTIONS = ("CommandFailedFunction", "WindowFailedFunction")
SUMMARY_VARIABLES: dict[str, dict[str, Any]] = {
    "CommandFailedFunction": {"NIGHT_LEDGER": ""},
    "WindowFailedFunction": {"NIGHT_LEDGER": "", "HISTORY_TABLE": {"Ref": "HistoryTable"}},
}
OUTPUT_KEYS = ("Description", "Value")


def single_account_view(translated: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """What a deploy with these parameters creates, reduced to what the fixture records."""
    deployed = as_deployed(translated, parameters)
    return {
        "Resources": {
            name: {key: resource[key] for key in RESOURCE_KEYS if key in resource}
            for name, resource in deployed["Resources"].items()
        },
        "Outputs": {
            name: {key: output[key] for key in OUTPUT_KEYS if key in output}
            for name, output in deployed["Outputs"].items()
        },
    }


def recorded(parameter_set: str) -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())[parameter_set]  # type: ignore[no-any-return]


def expected(parameter_set: str) -> dict[str, Any]:
    """What was recorded, with the contract's variables added to the notifier functions."""
    view = recorded(parameter_set)
    for name in NOTIFIER_FUNCTIONS:
        view["Resources"][name]["Properties"]["Environment"]["Variables"].update(
            CONTRACT_VARIABLES | SUMMARY_VARIABLES[name]
        )
    return view


@pytest.mark.parametrize("parameter_set", sorted(PARAMETER_SETS))
def test_the_parameter_set_is_one_cloudformation_accepts(parameter_set: str) -> None:
    assert refusals(raw_template(), PARAMETER_SETS[parameter_set]) == []


@pytest.mark.parametrize("parameter_set", sorted(PARAMETER_SETS))
def test_a_single_account_deploy_creates_the_same_resources_with_the_same_properties(
    parameter_set: str,
) -> None:
    before = expected(parameter_set)
    now = single_account_view(translated_template(), PARAMETER_SETS[parameter_set])

    assert sorted(now["Resources"]) == sorted(before["Resources"]), "the same logical ids"
    for name, resource in before["Resources"].items():
        assert now["Resources"][name] == resource, name


def test_the_contract_variables_are_new_so_the_addition_overwrites_nothing_recorded() -> None:
    for name in NOTIFIER_FUNCTIONS:
        variables = recorded("defaults")["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert not (set(CONTRACT_VARIABLES) | set(SUMMARY_VARIABLES[name])) & set(variables), name


@pytest.mark.parametrize("parameter_set", sorted(PARAMETER_SETS))
def test_a_single_account_deploy_has_the_same_outputs(parameter_set: str) -> None:
    now = single_account_view(translated_template(), PARAMETER_SETS[parameter_set])

    assert now["Outputs"] == recorded(parameter_set)["Outputs"]


def write_fixture(template: Path) -> None:
    translated = translate(raw_template(template))
    views = {name: single_account_view(translated, values) for name, values in PARAMETER_SETS.items()}
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(views, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    write_fixture(Path(sys.argv[1]))
