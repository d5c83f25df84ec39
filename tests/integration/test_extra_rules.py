"""Operator rules from an SSM parameter, through the real command handler on the stand-in:
the rule explains the failure; a bad rule is a note, never a lost notification."""

from __future__ import annotations

import json
from types import ModuleType

import pytest

from local.fleet_sim import InstanceResult, command_event, play_command
from tests.integration.test_command_handler import linux_patch
from tests.support.stack import BUCKET, REGION, Stack, lambda_context

PARAMETER = "/instance-hygiene/rules"
LOG = "Loaded plugins: priorities\nvendor-agent: license server lic.example.internal unreachable\n"
RULE = """
[[rule]]
id = "site.vendor-agent"
match = 'vendor-agent: license server (?P<host>[a-z0-9.-]+) unreachable'
reason = "vendor agent cannot reach its license server {host}"
next_step = "open TCP 27000 from the instance to {host}"
severity = "critical"
"""
BAD = "\n[[rule]]\nid = 'site.lookaround'\nmatch = '(?<=x)y'\nreason = 'never'\n"


@pytest.fixture
def with_parameter(monkeypatch: pytest.MonkeyPatch, command_function: ModuleType) -> ModuleType:
    monkeypatch.setenv("EXTRA_RULES_PARAMETER", PARAMETER)
    command_function._rule_source.cache_clear()
    return command_function


def notify(stack: Stack, app: ModuleType) -> dict:
    (instance,) = stack.instances(1)
    played = play_command(
        ssm=stack.ssm,
        s3=stack.s3,
        region=REGION,
        document_name="AWS-RunPatchBaseline",
        bucket=BUCKET,
        outcomes={instance: InstanceResult("Failed", "Failed", linux_patch("Failed", 1, LOG))},
    )
    app.handler(command_event(played, region=REGION), lambda_context())
    (envelope,) = stack.received()
    return json.loads(envelope["Message"])


def test_an_operator_rule_explains_a_failure_without_a_deploy(
    stack: Stack, with_parameter: ModuleType
) -> None:
    stack.ssm.put_parameter(Name=PARAMETER, Type="String", Value=RULE)

    digest = notify(stack, with_parameter)

    (group,) = digest["groups"]
    assert group["reason"] == "vendor agent cannot reach its license server lic.example.internal"
    assert group["next_step"] == "open TCP 27000 from the instance to lic.example.internal"
    assert group["failures"][0]["cause"] == {"rule": "site.vendor-agent", "severity": "critical"}


def test_a_bad_operator_rule_is_a_note_and_the_good_ones_still_apply(
    stack: Stack, with_parameter: ModuleType
) -> None:
    stack.ssm.put_parameter(Name=PARAMETER, Type="String", Value=RULE + BAD)

    digest = notify(stack, with_parameter)

    assert digest["groups"][0]["failures"][0]["cause"]["rule"] == "site.vendor-agent"
    (note,) = [n for n in digest["notes"] if "site.lookaround" in n]
    assert note.startswith(f"ssm:{PARAMETER}: rule site.lookaround ignored: ")
    assert "RE2" in note


def test_a_missing_parameter_costs_one_note_and_nothing_else(
    stack: Stack, with_parameter: ModuleType
) -> None:
    digest = notify(stack, with_parameter)

    assert digest["groups"][0]["count"] == 1
    assert any(
        n.startswith(f"Extra rules from ssm:{PARAMETER} were not read (ParameterNotFound)")
        for n in digest["notes"]
    )
