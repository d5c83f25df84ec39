"""tests.cfn.conditions_for and as_deployed: a template's Conditions evaluated for one set of
parameter values, and what CloudFormation then creates (CloudFormation user guide, "Conditions
syntax" and "Condition functions": a resource or output whose Condition is false is not created;
Fn::If returns one branch; AWS::NoValue removes the property)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cfn import UnresolvedIntrinsic, as_deployed, conditions_for

TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Role": {"Type": "String", "Default": "single"},
        "Email": {"Type": "String", "Default": ""},
        "Ids": {"Type": "CommaDelimitedList", "Default": ""},
        "Days": {"Type": "Number", "Default": 0},
    },
    "Conditions": {
        "IsSingle": {"Fn::Equals": [{"Ref": "Role"}, "single"]},
        "IsCentral": {"Fn::Equals": [{"Ref": "Role"}, "central"]},
        "RunsNotifier": {"Fn::Or": [{"Condition": "IsSingle"}, {"Condition": "IsCentral"}]},
        "HasEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Email"}, ""]}]},
        "Subscribes": {"Fn::And": [{"Condition": "RunsNotifier"}, {"Condition": "HasEmail"}]},
        "HasIds": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "Ids"}]}, ""]}]},
        "Archives": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Days"}, 0]}]},
    },
    "Resources": {
        "Topic": {"Type": "AWS::SNS::Topic", "Condition": "RunsNotifier"},
        "Subscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "Subscribes",
            "Properties": {"Endpoint": {"Ref": "Email"}, "TopicArn": {"Ref": "Topic"}},
        },
        "Bus": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Fn::If": ["IsCentral", {"Ref": "Central"}, {"Ref": "AWS::NoValue"}]},
                "Targets": [
                    {"Id": "always"},
                    {"Fn::If": ["HasIds", {"Id": "ids"}, {"Ref": "AWS::NoValue"}]},
                ],
            },
        },
    },
    "Outputs": {"TopicArn": {"Condition": "RunsNotifier", "Value": {"Ref": "Topic"}}},
}


def test_given_the_defaults_then_each_condition_is_what_cloudformation_evaluates() -> None:
    assert conditions_for(TEMPLATE) == {
        "IsSingle": True,
        "IsCentral": False,
        "RunsNotifier": True,
        "HasEmail": False,
        "Subscribes": False,
        "HasIds": False,
        "Archives": False,
    }


def test_given_values_then_conditions_follow_them_through_condition_and_or_and_join() -> None:
    conditions = conditions_for(TEMPLATE, {"Role": "member", "Email": "a@example.com", "Ids": "i-1,i-2"})

    assert (conditions["RunsNotifier"], conditions["HasEmail"], conditions["Subscribes"]) == (
        False,
        True,
        False,
    )
    assert conditions["HasIds"] is True
    assert conditions_for(TEMPLATE, {"Days": "30"})["Archives"] is True, "a Number compares as a string"


def test_given_a_name_that_is_no_parameter_then_it_is_refused_not_ignored() -> None:
    with pytest.raises(UnresolvedIntrinsic, match="DeploymentRol"):
        conditions_for(TEMPLATE, {"DeploymentRol": "member"})


def test_given_a_false_condition_then_its_resources_and_outputs_are_not_created() -> None:
    deployed = as_deployed(TEMPLATE, {"Role": "member", "Email": "a@example.com"})

    assert sorted(deployed["Resources"]) == ["Bus"]
    assert deployed["Outputs"] == {}
    assert sorted(as_deployed(TEMPLATE, {"Email": "a@example.com"})["Resources"]) == [
        "Bus",
        "Subscription",
        "Topic",
    ]


def test_given_fn_if_then_the_chosen_branch_stays_and_no_value_drops_the_key_or_the_item() -> None:
    single = as_deployed(TEMPLATE)["Resources"]["Bus"]["Properties"]
    central = as_deployed(TEMPLATE, {"Role": "central", "Ids": "i-1"})["Resources"]["Bus"]["Properties"]

    assert single == {"Targets": [{"Id": "always"}]}
    assert central == {"EventBusName": {"Ref": "Central"}, "Targets": [{"Id": "always"}, {"Id": "ids"}]}
    assert TEMPLATE["Resources"]["Bus"]["Properties"]["EventBusName"]["Fn::If"], "the template is not changed"


def test_given_a_resource_whose_condition_is_not_declared_then_it_fails_loudly() -> None:
    broken = {**TEMPLATE, "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Condition": "Nowhere"}}}

    with pytest.raises(KeyError, match="Nowhere"):
        as_deployed(broken)
