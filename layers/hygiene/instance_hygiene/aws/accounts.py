"""Whose credentials read an event: the function's own for its own account; in central role, the
member role's for another account of the organization; nobody's otherwise.

`event_clients` is the one call. An event from the function's own account gets the clients it
always had (the event's region, the function's credentials). Another account's event:

- not central (single or member), or in an account whose DescribeOrganization (with the member
  role) names another organization or none: `AccountRejected` is raised after one log line, before
  anything else is read there; the invocation fails and the failure destination keeps the event;
- central, and sts:AssumeRole is denied (the member stack is missing, or does not trust this
  function): `RoleNotAssumed` is returned, for a notification that says so and what to do;
- central and in the organization: the member role's clients in the event's region.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from botocore.exceptions import ClientError

from instance_hygiene.aws import clients
from instance_hygiene.aws.clients import Clients, MemberRole
from instance_hygiene.digest.model import Unread
from instance_hygiene.errors import error_code, error_message
from instance_hygiene.secrets.redact import clean_field
from instance_hygiene.settings import NotifierSettings

LOGGER = logging.getLogger(__name__)

ASSUME_DENIED = "AccessDenied"
"""STS's code when the caller may not assume the role, with the message "User: <caller> is not
authorized to perform: sts:AssumeRole on resource: <role>": the caller's policy does not allow it
or the role's trust policy (its ExternalId condition included) does not trust the caller (IAM user
guide, "Troubleshoot IAM roles", I can't assume a role). A role that does not exist gets the same
answer (HackTricks' aws-iam-and-sts-unauthenticated-enum page records it). botocore's sts model
does not list AccessDenied among AssumeRole's errors, so it is matched by its code."""
NOT_IN_ORGANIZATION = "AWSOrganizationsNotInUseException"
ORGANIZATION_DENIED = "AccessDeniedException"
"""DescribeOrganization's codes (botocore's organizations model) that leave membership unproven."""

SESSION_NAME_PREFIX = "instance-hygiene-"
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]", re.ASCII)
SESSION_NAME_MAX = 64
"""STS's roleSessionNameType: 2 to 64 of [\\w+=,.@-] (botocore's sts model)."""


class AccountRejected(RuntimeError):
    """An event from an account this function may not read: raised so that the invocation fails and
    the failure destination keeps the event (nothing was read or sent, nothing marked done)."""


@dataclass(frozen=True)
class Function:
    """The function itself, as its invoked ARN names it (`arn:<partition>:lambda:<region>:<account>:
    function:<name>[:<alias>]`)."""

    partition: str
    account: str
    name: str

    @classmethod
    def of_arn(cls, arn: str) -> Function:
        parts = arn.split(":")
        if len(parts) < 7 or parts[0] != "arn" or parts[2] != "lambda" or parts[5] != "function":
            raise ValueError(f"not a Lambda function ARN: {clean_field(arn, 200)!r}")
        return cls(partition=parts[1], account=parts[4], name=parts[6])

    def session_name(self) -> str:
        """`instance-hygiene-<function name>`, in STS's characters and length."""
        name = _SESSION_NAME_UNSAFE.sub("-", f"{SESSION_NAME_PREFIX}{self.name}")
        return name[:SESSION_NAME_MAX]


@dataclass(frozen=True)
class RoleNotAssumed:
    """The member role of `account` could not be assumed: what the notification says."""

    account: str
    region: str
    role_name: str
    organization_id: str
    code: str
    message: str

    def unread(self) -> Unread:
        """Why nothing could be read, and the next step, as every rendering shows them."""
        said = clean_field(self.message, 400)
        return Unread(
            reason=(
                f"The member role {self.role_name} in account {self.account} could not be assumed "
                f"({clean_field(self.code, 64)}{': ' + said if said else ''}); nothing was read there."
            ),
            next_step=(
                f"Deploy the member stack in account {self.account}, region {self.region}, with "
                f"OrganizationId {self.organization_id} and this stack's ExternalId and MemberRoleName "
                f"(the role it makes there is {self.role_name})."
            ),
        )


def member_role_name(settings: NotifierSettings, region: str) -> str:
    """The member stack of each account and Region makes its own role (IAM role names are per
    account): `<MEMBER_ROLE_NAME>-<region>`."""
    return f"{settings.member_role_name}-{region}"


def member_role(settings: NotifierSettings, function: Function, account: str, region: str) -> MemberRole:
    return MemberRole(
        arn=f"arn:{function.partition}:iam::{account}:role/{member_role_name(settings, region)}",
        session_name=function.session_name(),
        external_id=settings.member_external_id,
    )


def _reject(account: str, region: str, about: str, why: str) -> AccountRejected:
    line = f"event rejected: account {account}, region {region}, {about}: {why}"
    LOGGER.error("%s", line)
    return AccountRejected(line)


def is_own(function: Function, account: str) -> bool:
    """Whether `account` is the function's own: its invoked ARN's account or, when the event names
    another, its credentials' (GetCallerIdentity, once per container). An emulator's context ARN
    names a placeholder account (the Lambda Runtime Interface Emulator, which `sam local invoke`
    runs, hard-codes 012345678912 in it), where the credentials name the emulated one."""
    return account == function.account or account == clients.caller_account()


def event_clients(
    settings: NotifierSettings, function: Function, *, account: str, region: str, about: str
) -> Clients | RoleNotAssumed:
    """The clients that read an event of `account` in `region` (module docstring). `about` names
    the event's subject for the log line ("command <id>", "window execution <id>")."""
    if is_own(function, account):
        return clients.command_clients(region)
    if settings.deployment_role != "central":
        raise _reject(
            account,
            region,
            about,
            f"another account than this function's ({function.account}), and DEPLOYMENT_ROLE is "
            f"{settings.deployment_role}, not central",
        )
    role = member_role(settings, function, account, region)
    organization = settings.organization_id or ""
    try:
        clients.member_organizations(role)  # assumes the role (once per container)
    except ClientError as error:
        if error_code(error) != ASSUME_DENIED:
            raise
        LOGGER.warning(
            "member role not assumed: account %s, region %s, %s: %s", account, region, about, error
        )
        return RoleNotAssumed(
            account=account,
            region=region,
            role_name=member_role_name(settings, region),
            organization_id=organization,
            code=error_code(error),
            message=error_message(error),
        )
    try:
        found = clients.member_organization_id(role)  # asked once an hour per container
    except ClientError as error:
        if error_code(error) not in {NOT_IN_ORGANIZATION, ORGANIZATION_DENIED}:
            raise
        raise _reject(
            account,
            region,
            about,
            f"its organization could not be read ({error_code(error)}), so it is not known to be "
            f"in {organization}",
        ) from None
    if found != organization:
        raise _reject(account, region, about, f"it is in organization {found}, not {organization}")
    return clients.member_clients(role, region)


def scoped_key(key: dict[str, str], *, function: Function, account: str, region: str) -> dict[str, str]:
    """An idempotency key: as it always was for the function's own account (existing records still
    match), with the account and region for another account's event (accounts share the table)."""
    if is_own(function, account):
        return key
    return {**key, "account": account, "region": region}


@dataclass(frozen=True)
class EventAccess:
    """How a handler reads one event: the clients (or why the member role could not be assumed)
    and the idempotency key of the event's subject."""

    clients: Clients | RoleNotAssumed
    key: dict[str, str]


def event_access(
    settings: NotifierSettings,
    invoked_function_arn: str,
    *,
    account: str,
    region: str,
    about: str,
    key: dict[str, str],
) -> EventAccess:
    """`event_clients` and `scoped_key` for the function `invoked_function_arn` names (its context's)."""
    function = Function.of_arn(invoked_function_arn)
    return EventAccess(
        clients=event_clients(settings, function, account=account, region=region, about=about),
        key=scoped_key(key, function=function, account=account, region=region),
    )
