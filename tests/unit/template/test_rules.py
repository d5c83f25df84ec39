"""A first deploy either succeeds or is refused before CloudFormation changes anything.

Each Rule of template.yaml against the AWS constraint it stands for: a bad combination of
parameters is refused with a description a person understands, and the defaults pass. Names the
template builds from parameters stay within the limits of the API that receives them (botocore's
service models), for the longest values the parameters allow.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import botocore.session
import pytest

from local.template import raw_template
from tests.cfn import DEPLOYMENT_ROLES, as_deployed, resolve_if, translated_template
from tests.cfn_rules import refusals

RAW = raw_template()
PARAMETERS = RAW["Parameters"]
SSM_MODEL = botocore.session.get_session().get_service_model("ssm")


def allowed(name: str) -> list[str]:
    return [str(v) for v in PARAMETERS[name]["AllowedValues"]]


def refused_by(overrides: dict[str, Any]) -> set[str]:
    return {r.rule for r in refusals(RAW, overrides)}


def test_given_the_defaults_then_no_rule_refuses_the_deploy() -> None:
    assert refusals(RAW) == []


def test_every_rule_explains_itself_and_names_what_to_change() -> None:
    for name, rule in RAW["Rules"].items():
        for assertion in rule["Assertions"]:
            text = assertion["AssertDescription"]
            assert 40 < len(text) < 400, (name, text)
            assert re.search(r"\b[A-Z][a-z]+[A-Z][A-Za-z]+\b", text), f"{name}: names the parameter"


# ------------------------------------------------------------------ window duration and cutoff


def window_accepts(duration: int, cutoff: int) -> bool:
    """CreateMaintenanceWindow: Cutoff "must be less than the Duration" (SSM API reference)."""
    return cutoff < duration


@pytest.mark.parametrize("duration", range(1, 25))
def test_given_any_duration_and_cutoff_then_the_rule_refuses_exactly_what_ssm_refuses(duration: int) -> None:
    for cutoff in range(0, 24):
        refused = "CutoffBelowDuration" in refused_by({"WindowDuration": duration, "WindowCutoff": cutoff})

        assert refused is not window_accepts(duration, cutoff), (duration, cutoff)


def test_given_a_cutoff_as_long_as_the_window_then_the_message_gives_the_allowed_range() -> None:
    (refusal,) = refusals(RAW, {"WindowDuration": 3, "WindowCutoff": 3})

    assert "WindowDuration 3" in refusal.description
    assert "WindowCutoff of 0 to 2" in refusal.description


# ------------------------------------------------------------------ lifecycle: archive and expiry


def lifecycle_accepts(retention: int, archive: int, storage_class: str) -> bool:
    """What S3's PutBucketLifecycleConfiguration accepts for our ExpireCommandOutput rule:
    a transition to STANDARD_IA or ONEZONE_IA no sooner than 30 days, and an expiration later than
    the transition (S3 user guide, "Transitioning objects using Amazon S3 Lifecycle" and
    "Lifecycle configuration elements"). Archive 0 means no transition."""
    if archive == 0:
        return True
    if storage_class in {"STANDARD_IA", "ONEZONE_IA"} and archive < 30:
        return False
    return retention > archive


COMBINATIONS = list(
    itertools.product(
        allowed("LogRetentionDays"), allowed("LogArchiveAfterDays"), allowed("LogArchiveStorageClass")
    )
)


def test_given_every_allowed_lifecycle_combination_then_the_rules_refuse_exactly_what_s3_refuses() -> None:
    lifecycle_rules = {"ArchiveBeforeExpiry", "InfrequentAccessAfterThirtyDays"}
    for retention, archive, storage_class in COMBINATIONS:
        refused = lifecycle_rules & refused_by(
            {
                "LogRetentionDays": retention,
                "LogArchiveAfterDays": archive,
                "LogArchiveStorageClass": storage_class,
            }
        )

        assert bool(refused) is not lifecycle_accepts(int(retention), int(archive), storage_class), (
            retention,
            archive,
            storage_class,
        )


def test_given_a_transition_to_infrequent_access_after_a_week_then_the_rule_says_thirty_days() -> None:
    (refusal,) = refusals(RAW, {"LogArchiveAfterDays": 7, "LogArchiveStorageClass": "STANDARD_IA"})

    assert refusal.rule == "InfrequentAccessAfterThirtyDays"
    assert "30 days" in refusal.description


def test_given_an_archive_on_the_day_of_expiry_then_the_rule_refuses_it() -> None:
    (refusal,) = refusals(RAW, {"LogArchiveAfterDays": 90, "LogRetentionDays": 90})

    assert refusal.rule == "ArchiveBeforeExpiry"
    assert "LogRetentionDays above 90" in refusal.description


# ------------------------------------------------------------------ key prefixes


@pytest.mark.parametrize(
    ("same", "expected"),
    [
        (("LogPrefix", "ScriptsPrefix"), "expire the healthcheck scripts"),
        (("ReportsPrefix", "ScriptsPrefix"), "expire the healthcheck scripts"),
        (("LogPrefix", "ReportsPrefix"), "same prefix"),
    ],
)
def test_given_two_prefixes_alike_then_the_rule_refuses_them(same: tuple[str, str], expected: str) -> None:
    (refusal,) = refusals(RAW, dict.fromkeys(same, "shared/"))

    assert refusal.rule == "DistinctPrefixes"
    assert expected in refusal.description


# ------------------------------------------------------------------ names within the API's limits


def longest(name: str) -> str:
    """The longest value the parameter's AllowedPattern lets through, of one allowed character."""
    pattern = PARAMETERS[name]["AllowedPattern"]
    maximum = int(re.findall(r"\{\d+,(\d+)\}", pattern)[-1])
    value = "a" * maximum
    assert re.fullmatch(pattern, value), name
    assert not re.fullmatch(pattern, value + "a"), f"{name}: {maximum} is the pattern's limit"
    return value


def substitute(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{([A-Za-z0-9:]+)\}", lambda m: values[m.group(1)], template)


def test_given_the_longest_window_name_then_the_target_name_fits_ssm() -> None:
    name = substitute(
        RAW["Resources"]["MaintenanceWindowTarget"]["Properties"]["Name"]["Fn::Sub"],
        {"WindowName": longest("WindowName")},
    )
    shape = SSM_MODEL.shape_for("MaintenanceWindowName").metadata

    assert re.fullmatch(shape["pattern"], name), "RegisterTargetWithMaintenanceWindow Name"
    assert len(name) <= shape["max"]


@pytest.mark.parametrize("task", ["PatchTask", "HealthcheckTask"])
def test_given_the_longest_window_name_then_the_command_comment_fits_ssm(task: str) -> None:
    parameters = RAW["Resources"][task]["Properties"]["TaskInvocationParameters"]
    comment = substitute(
        parameters["MaintenanceWindowRunCommandParameters"]["Comment"]["Fn::Sub"],
        {"WindowName": longest("WindowName")},
    )

    assert len(comment) <= SSM_MODEL.shape_for("Comment").metadata["max"]


def test_given_any_allowed_tag_key_then_the_target_key_matches_ssm_pattern() -> None:
    pattern = SSM_MODEL.shape_for("TargetKey").metadata["pattern"]
    allowed_tag_key = PARAMETERS["TargetTagKey"]["AllowedPattern"]
    java_style = pattern.replace(r"\p{L}", "A-Za-z").replace(r"\p{Z}", " ").replace(r"\p{N}", "0-9")
    for character in map(chr, range(32, 127)):
        if re.fullmatch(allowed_tag_key, f"Patch{character}Group"):
            assert re.fullmatch(java_style, f"tag:Patch{character}Group"), repr(character)
    assert len(f"tag:{longest('TargetTagKey')}") <= SSM_MODEL.shape_for("TargetKey").metadata["max"]


def test_given_the_translated_template_then_no_rule_or_function_name_is_built_from_the_stack_name() -> None:
    # EventBridge rule names are at most 64 characters (botocore: RuleName) while a stack name
    # may have 128: a name built from it would fail the deploy of a long-named stack. The one
    # named resource is the member role, named by a parameter the central functions know.
    named = {}
    for logical_id, resource in translated_template()["Resources"].items():
        if resource["Type"] in {"AWS::Events::Rule", "AWS::Lambda::Function", "AWS::IAM::Role"}:
            for key in ("Name", "FunctionName", "RoleName"):
                if key in resource["Properties"]:
                    named[logical_id, key] = resource["Properties"][key]

    assert named == {("MemberReadRole", "RoleName"): {"Fn::Sub": "${MemberRoleName}-${AWS::Region}"}}


# ------------------------------------------------------------------ what SSM alone can validate


@pytest.mark.parametrize("role", ["single", "member"])
def test_the_window_and_its_target_exist_before_the_retained_key_and_bucket(role: str) -> None:
    # A schedule the pattern lets through but SSM refuses (or an offset on a rate schedule, which
    # no rule can see: rules have no string functions) fails before anything retained exists. The
    # key refers to both in its Metadata (a dependency, as a Ref is; the template says where this
    # is documented), where the window runs; a central stack has neither.
    key = as_deployed(RAW, DEPLOYMENT_ROLES[role])["Resources"]["LogKey"]
    assert key["Metadata"]["CreatedAfter"] == [
        {"Ref": "MaintenanceWindow"},
        {"Ref": "MaintenanceWindowTarget"},
    ]
    assert "DependsOn" not in key, "DependsOn cannot follow a condition"
    central = as_deployed(RAW, DEPLOYMENT_ROLES["central"])["Resources"]["LogKey"]
    assert central["Metadata"]["CreatedAfter"] == ""
    assert RAW["Resources"]["LogKey"]["DeletionPolicy"] == "Retain"
    window = RAW["Resources"]["MaintenanceWindow"]["Properties"]
    target = resolve_if(
        RAW["Resources"]["MaintenanceWindowTarget"]["Properties"], {"TargetByInstanceIds": False}
    )
    assert "LogBucket" not in str(window) + str(target)
    assert "LogKey" not in str(window) + str(target)
