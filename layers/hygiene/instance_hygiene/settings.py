"""Configuration, read once at the handler boundary into typed settings."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal


class SettingsError(RuntimeError):
    """A required setting is missing: a deployment mistake, raised so the event is kept."""


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is not set")
    return value


DeploymentRole = Literal["single", "member", "central"]
"""How the stack is deployed: one account (single), an organization member that only lends its
read role (member), or the central account that reads its members' events (central)."""
DEFAULT_MEMBER_ROLE_NAME = "instance-hygiene-member-read"
"""The member stack's read role (template parameter MemberRoleName's default)."""

# botocore's models: Organizations' OrganizationId, IAM's roleNameType, STS's externalIdType.
ORGANIZATION_ID_PATTERN = re.compile(r"o-[a-z0-9]{10,32}")
ROLE_NAME_PATTERN = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
EXTERNAL_ID_PATTERN = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _matching(value: str | None, pattern: re.Pattern[str], name: str) -> str | None:
    if value is not None and not pattern.fullmatch(value):
        raise SettingsError(f"environment variable {name} is not a valid value (pattern {pattern.pattern})")
    return value


_ROLES: dict[str, DeploymentRole] = {"single": "single", "member": "member", "central": "central"}


def _deployment_role(env: Mapping[str, str]) -> DeploymentRole:
    value = env.get("DEPLOYMENT_ROLE", "").strip() or "single"
    if value not in _ROLES:
        raise SettingsError(
            f"environment variable DEPLOYMENT_ROLE is {value!r}, not single, member or central"
        )
    return _ROLES[value]


@dataclass(frozen=True)
class NotifierSettings:
    topic_arn: str
    idempotency_table: str
    report_bucket: str
    report_prefix: str
    notify_on_success: bool = False
    idempotency_ttl_seconds: int = 2 * 24 * 3600
    extra_rules_parameter: str | None = None
    """SSM parameter with operator rules (docs/rules.md); None: the built-in catalogue only."""
    window_id: str | None = None
    """The stack's maintenance window: a command its executions sent is named after it."""
    history_table: str | None = None
    """DynamoDB table of failures across runs (aws/history.py); None: history off."""
    deployment_role: DeploymentRole = "single"
    """DEPLOYMENT_ROLE (absent: single). Only central reads another account's events."""
    organization_id: str | None = None
    """ORGANIZATION_ID: the organization a member account must belong to (required in central)."""
    member_role_name: str = DEFAULT_MEMBER_ROLE_NAME
    """MEMBER_ROLE_NAME: the role assumed in a member account (central only)."""
    member_external_id: str | None = None
    """MEMBER_EXTERNAL_ID: the ExternalId the member role's trust policy requires (None: none sent)."""
    night_ledger: bool = False
    """NIGHT_LEDGER=true: each event handled is written to the night's ledger (aws/ledger.py) in
    the history table, for the morning summary."""
    summary_time_zone: str = "UTC"
    """SUMMARY_TIME_ZONE: the IANA zone the morning summary's schedule and night date follow."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotifierSettings:
        env = os.environ if env is None else env
        role = _deployment_role(env)
        organization_id = _matching(
            _optional(env, "ORGANIZATION_ID"), ORGANIZATION_ID_PATTERN, "ORGANIZATION_ID"
        )
        if role == "central" and organization_id is None:
            raise SettingsError(
                "environment variable ORGANIZATION_ID is not set (DEPLOYMENT_ROLE is central)"
            )
        return cls(
            topic_arn=_required(env, "TOPIC_ARN"),
            idempotency_table=_required(env, "IDEMPOTENCY_TABLE"),
            report_bucket=_required(env, "REPORT_BUCKET"),
            report_prefix=env.get("REPORT_PREFIX", "reports/").strip() or "reports/",
            notify_on_success=env.get("NOTIFY_ON_SUCCESS", "false").lower() == "true",
            extra_rules_parameter=env.get("EXTRA_RULES_PARAMETER", "").strip() or None,
            window_id=env.get("WINDOW_ID", "").strip() or None,
            history_table=env.get("HISTORY_TABLE", "").strip() or None,
            deployment_role=role,
            organization_id=organization_id,
            member_role_name=_matching(
                _optional(env, "MEMBER_ROLE_NAME"), ROLE_NAME_PATTERN, "MEMBER_ROLE_NAME"
            )
            or DEFAULT_MEMBER_ROLE_NAME,
            member_external_id=_matching(
                _optional(env, "MEMBER_EXTERNAL_ID"), EXTERNAL_ID_PATTERN, "MEMBER_EXTERNAL_ID"
            ),
            night_ledger=env.get("NIGHT_LEDGER", "false").strip().lower() == "true",
            summary_time_zone=_optional(env, "SUMMARY_TIME_ZONE") or "UTC",
        )
