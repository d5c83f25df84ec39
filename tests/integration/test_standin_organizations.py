"""The Organizations stand-in (local/standin/organizations.py) over moto: the helper that sets an
organization up, and DescribeOrganization from its management account, a member and an account
in no organization, in-process under mock_aws and through ThreadedMotoServer.

AWS behaviour from the Organizations API reference as botocore's model carries it:
DescribeOrganization "You can call this operation from any account in a organization", and
AWSOrganizationsNotInUseException "Your account isn't a member of an organization".
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.organizations.models import OrganizationsBackend, organizations_backends

from local.standin import organizations
from local.standin.organizations import create_organization, organization_of
from tests.support.stack import MOTO_MODES, moto_endpoint

REGION = "eu-west-2"
MANAGEMENT = DEFAULT_ACCOUNT_ID  # the account moto serves the "testing" keys in
OUTSIDE = "999999999999"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def standin(environment: None) -> Iterator[None]:
    organizations.install()
    yield
    organizations.uninstall()


def client(service: str, endpoint_url: str | None, keys: Mapping[str, str] | None = None) -> Any:
    """A client of the management account ("testing" keys), or signing with an assumed role's keys."""
    session = boto3.Session()
    if keys is not None:
        session = boto3.Session(
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            aws_session_token=keys["SessionToken"],
        )
    make: Any = session.client  # boto3-stubs types each service by its literal name
    return make(service, endpoint_url=endpoint_url)


def keys_in(account: str, endpoint_url: str | None) -> Mapping[str, str]:
    """Credentials in `account` through moto's own AssumeRole of its OrganizationAccountAccessRole
    (role trust is not enforced here: moto hands them out even where the role does not exist)."""
    role_arn = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    sts = client("sts", endpoint_url)
    return sts.assume_role(RoleArn=role_arn, RoleSessionName="organizations-test")["Credentials"]  # type: ignore[no-any-return]


def not_in_use(call: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = call.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


def test_the_helper_makes_an_organization_of_the_management_account_and_one_member_per_name(
    standin: None,
) -> None:
    with mock_aws():
        made = create_organization(MANAGEMENT, ["central", "member-a", "member-b"])
        listed = client("organizations", None).list_accounts()["Accounts"]
        access_role = client("iam", None, keys_in(made.members["member-a"], None)).get_role(
            RoleName="OrganizationAccountAccessRole"
        )["Role"]

    ids = list(made.members.values())
    assert list(made.members) == ["central", "member-a", "member-b"]
    assert len(set(ids)) == 3
    assert all(len(i) == 12 and i.isdigit() for i in ids)
    assert MANAGEMENT not in ids
    assert made.accounts == (MANAGEMENT, *ids)
    assert made.id.startswith("o-")
    assert made.arn == f"arn:aws:organizations::{MANAGEMENT}:organization/{made.id}"
    assert sorted(a["Id"] for a in listed) == sorted(made.accounts)
    # CreateAccount's member role, trusting the management account (moto's FakeAccount, as AWS does).
    trust = access_role["AssumeRolePolicyDocument"]
    statement = (json.loads(trust) if isinstance(trust, str) else trust)["Statement"][0]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"}


@pytest.mark.parametrize("mode", MOTO_MODES)
def test_a_member_describes_the_organization_its_management_account_describes(
    standin: None, mode: str
) -> None:
    with moto_endpoint(mode) as url:
        made = create_organization(MANAGEMENT, ["member-a"])
        from_management = client("organizations", url).describe_organization()["Organization"]
        member = client("organizations", url, keys_in(made.members["member-a"], url))
        from_member = member.describe_organization()["Organization"]

    assert from_member == from_management
    assert (from_member["Id"], from_member["Arn"], from_member["FeatureSet"]) == (made.id, made.arn, "ALL")
    # The Organization shape's MasterAccount* members name the management account.
    assert from_member["MasterAccountId"] == MANAGEMENT
    master_arn = f"arn:aws:organizations::{MANAGEMENT}:account/{made.id}/{MANAGEMENT}"
    assert from_member["MasterAccountArn"] == master_arn
    assert from_member["MasterAccountEmail"]


@pytest.mark.parametrize("mode", MOTO_MODES)
def test_an_account_in_no_organization_is_told_organizations_are_not_in_use(standin: None, mode: str) -> None:
    with moto_endpoint(mode) as url:
        create_organization(MANAGEMENT, ["member-a"])
        outside = client("organizations", url, keys_in(OUTSIDE, url))
        with pytest.raises(outside.exceptions.AWSOrganizationsNotInUseException) as raised:
            outside.describe_organization()

    # The model's error shape, parsed by botocore into its modelled exception class; the shape
    # declares no httpStatusCode: 400, a client error's default status.
    model = botocore.session.get_session().get_service_model("organizations")
    assert model.shape_for("AWSOrganizationsNotInUseException").metadata.get("exception") is True
    assert not_in_use(raised) == ("AWSOrganizationsNotInUseException", 400)


def test_a_member_of_an_organization_gone_with_moto_s_reset_is_in_none(standin: None) -> None:
    with mock_aws():
        former = create_organization(MANAGEMENT, ["member-a"]).members["member-a"]
    with mock_aws():  # moto's reset on leaving the block kept the member -> management mapping
        assert former in organizations_backends.master_accounts
        with pytest.raises(AttributeError):  # moto's own DescribeOrganization there
            OrganizationsBackend.describe_organization(organizations_backends[former]["aws"])
        with pytest.raises(ClientError) as raised:
            client("organizations", None, keys_in(former, None)).describe_organization()

        assert organization_of(former) is None
    assert not_in_use(raised) == ("AWSOrganizationsNotInUseException", 400)


def test_organization_of_follows_members_in_and_out(standin: None) -> None:
    with mock_aws():
        made = create_organization(MANAGEMENT, ["member-a", "member-b"])
        member_a, member_b = made.members.values()
        found = {account: organization_of(account) for account in (MANAGEMENT, member_a, member_b, OUTSIDE)}
        organizations_backends[MANAGEMENT]["aws"].remove_account_from_organization(AccountId=member_b)
        after_removal = organization_of(member_b)

    assert {account: org and org.id for account, org in found.items()} == {
        MANAGEMENT: made.id,  # the management account is in its own organization
        member_a: made.id,
        member_b: made.id,
        OUTSIDE: None,
    }
    assert after_removal is None
