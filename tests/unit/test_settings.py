"""The notifier's settings: the deployment role and what the central role needs, parsed from the
environment the template gives (absent or empty: a single-account stack, as before)."""

from __future__ import annotations

import pytest

from instance_hygiene.settings import DEFAULT_MEMBER_ROLE_NAME, NotifierSettings, SettingsError

BASE = {
    "TOPIC_ARN": "arn:aws:sns:eu-west-2:123456789012:hygiene-notifications",
    "IDEMPOTENCY_TABLE": "idempotency",
    "REPORT_BUCKET": "logs",
}
# botocore's organizations model: "o-" then 10 to 32 lower-case letters or digits.
ORGANIZATION = "o-a1b2c3d4e5"


def test_given_none_of_the_deployment_variables_then_the_stack_is_single_and_reads_its_own_account() -> None:
    settings = NotifierSettings.from_env(BASE)

    assert settings.deployment_role == "single"
    assert settings.organization_id is None
    assert settings.member_role_name == DEFAULT_MEMBER_ROLE_NAME == "instance-hygiene-member-read"
    assert settings.member_external_id is None


def test_given_the_variables_declared_empty_then_they_are_absent() -> None:
    # The template declares each variable in every role; a value a role does not use is "".
    empty = {"DEPLOYMENT_ROLE": "", "ORGANIZATION_ID": "", "MEMBER_ROLE_NAME": " ", "MEMBER_EXTERNAL_ID": ""}

    assert NotifierSettings.from_env({**BASE, **empty}) == NotifierSettings.from_env(BASE)


def test_given_a_central_stack_then_its_organization_role_and_external_id_are_read() -> None:
    settings = NotifierSettings.from_env(
        {
            **BASE,
            "DEPLOYMENT_ROLE": "central",
            "ORGANIZATION_ID": ORGANIZATION,
            "MEMBER_ROLE_NAME": "hygiene-reader",
            "MEMBER_EXTERNAL_ID": "hygiene-2f6c1e",
        }
    )

    assert settings.deployment_role == "central"
    assert settings.organization_id == ORGANIZATION
    assert settings.member_role_name == "hygiene-reader"
    assert settings.member_external_id == "hygiene-2f6c1e"


def test_given_a_member_stack_then_no_organization_is_required() -> None:
    assert NotifierSettings.from_env({**BASE, "DEPLOYMENT_ROLE": "member"}).deployment_role == "member"


def test_given_a_central_stack_without_its_organization_then_it_is_a_deployment_mistake() -> None:
    with pytest.raises(SettingsError, match="ORGANIZATION_ID is not set"):
        NotifierSettings.from_env({**BASE, "DEPLOYMENT_ROLE": "central"})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEPLOYMENT_ROLE", "Central"),
        ("DEPLOYMENT_ROLE", "hub"),
        ("ORGANIZATION_ID", "o-short"),
        ("ORGANIZATION_ID", "r-a1b2c3d4e5"),
        ("MEMBER_ROLE_NAME", "role/with-a-path"),
        ("MEMBER_ROLE_NAME", "x" * 65),
        ("MEMBER_EXTERNAL_ID", "has space"),
        ("MEMBER_EXTERNAL_ID", "x"),
    ],
)
def test_given_a_value_of_the_wrong_shape_then_it_is_refused_by_name(variable: str, value: str) -> None:
    # The patterns are botocore's: organizations OrganizationId, iam roleNameType, sts externalIdType.
    env = {**BASE, "DEPLOYMENT_ROLE": "central", "ORGANIZATION_ID": ORGANIZATION, variable: value}

    with pytest.raises(SettingsError, match=variable):
        NotifierSettings.from_env(env)
