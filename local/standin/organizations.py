"""Organizations stand-in: the organization an account belongs to, read from moto's own state.

moto 5.2 keeps an organization in its management account's backend (``OrganizationsBackend.org``,
with the accounts in ``.accounts``) and maps every account created in it (CreateAccount) to that
management account (``organizations_backends.master_accounts``); its DescribeOrganization already
answers a member from that map. The map belongs to the backend dict, not to a backend, so moto's
reset leaves it behind: a former member then points at a management account whose organization is
gone, and moto's DescribeOrganization fails with an AttributeError (a 500 through its server).

`organization_of` trusts the map only while the management account's organization lists the
account, and ``install()`` makes DescribeOrganization answer from it: the organization for the
management account and any member (Organizations API reference, DescribeOrganization: "You can call
this operation from any account in a organization"), AWSOrganizationsNotInUseException for an account
in none (botocore's model: "Your account isn't a member of an organization"). The same lookup gives
the aws:PrincipalOrgID of AssumeRole callers (`local.standin.role_trust`).

`create_organization` sets an organization up for tests and the demo. moto has no
InviteAccountToOrganization or AcceptHandshake, so members are accounts created in the organization,
and moto draws their 12-digit ids at random (CreateAccount takes no id, in AWS as in moto): read them
from the result. Like AWS, CreateAccount gives each member an OrganizationAccountAccessRole that
trusts the management account (moto's FakeAccount creates it in the member's IAM).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moto.organizations.exceptions import AWSOrganizationsNotInUseException
from moto.organizations.models import FakeOrganization, organizations_backends
from moto.organizations.responses import OrganizationsResponse

__all__ = ["Organization", "create_organization", "install", "installed", "organization_of", "uninstall"]


def organization_of(account: str, partition: str = "aws") -> FakeOrganization | None:
    """moto's organization that `account` manages or is a member of; None when it is in none."""
    own = organizations_backends[account][partition].org
    if own is not None:
        return own
    management, owner_partition = organizations_backends.master_accounts.get(account, ("", ""))
    if not management:
        return None
    backend = organizations_backends[management][owner_partition]
    if backend.org is None or all(member.id != account for member in backend.accounts):
        return None  # a mapping left behind by moto's reset
    return backend.org


@dataclass(frozen=True)
class Organization:
    """An organization set up in moto: its id and ARN, its management account, and its members."""

    id: str
    arn: str
    management_account: str
    members: Mapping[str, str]
    """Account name -> the id moto drew for it, in the order given."""

    @property
    def accounts(self) -> tuple[str, ...]:
        """The management account, then the members."""
        return (self.management_account, *self.members.values())


def create_organization(
    management_account: str, member_names: Sequence[str], *, partition: str = "aws", region: str = "us-east-1"
) -> Organization:
    """Create an organization (all features) in `management_account` and one member per name.

    Straight over moto's backends, so it works under mock_aws and for ThreadedMotoServer in this
    process alike. Raises moto's AlreadyInOrganizationException if the account is in one already.
    Each member's email is ``<name>@example.com``.
    """
    backend = organizations_backends[management_account][partition]
    backend.create_organization(region=region, FeatureSet="ALL")
    members = {
        name: str(
            backend.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"][
                "AccountId"
            ]
        )
        for name in member_names
    }
    organization = backend.org
    if organization is None:  # create_organization has just set it
        raise RuntimeError(f"moto kept no organization for {management_account}")
    return Organization(str(organization.id), str(organization.arn), management_account, members)


# ---------------------------------------------------------------- DescribeOrganization in moto


def _describe_organization(self: OrganizationsResponse) -> str:
    """DescribeOrganization from the management account or a member, as `organization_of` finds it."""
    organization = organization_of(self.current_account, self.partition)
    if organization is None:
        raise AWSOrganizationsNotInUseException
    return json.dumps(organization.describe())


_INSTALL_LOCK = threading.Lock()
_ORIGINALS: dict[str, Callable[..., Any]] = {}


def installed() -> bool:
    return bool(_ORIGINALS)


def install() -> None:
    """Patch moto's Organizations response class. Idempotent; affects the whole process."""
    with _INSTALL_LOCK:
        if not _ORIGINALS:
            _ORIGINALS["describe_organization"] = OrganizationsResponse.describe_organization
            OrganizationsResponse.describe_organization = _describe_organization  # type: ignore[method-assign]


def uninstall() -> None:
    """Give moto its own method back."""
    with _INSTALL_LOCK:
        for name, method in _ORIGINALS.items():
            setattr(OrganizationsResponse, name, method)
        _ORIGINALS.clear()
