"""Configuration, read once at the handler boundary into typed settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class SettingsError(RuntimeError):
    """A required setting is missing: a deployment mistake, raised so the event is kept."""


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is not set")
    return value


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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotifierSettings:
        env = os.environ if env is None else env
        return cls(
            topic_arn=_required(env, "TOPIC_ARN"),
            idempotency_table=_required(env, "IDEMPOTENCY_TABLE"),
            report_bucket=_required(env, "REPORT_BUCKET"),
            report_prefix=env.get("REPORT_PREFIX", "reports/").strip() or "reports/",
            notify_on_success=env.get("NOTIFY_ON_SUCCESS", "false").lower() == "true",
            extra_rules_parameter=env.get("EXTRA_RULES_PARAMETER", "").strip() or None,
            window_id=env.get("WINDOW_ID", "").strip() or None,
            history_table=env.get("HISTORY_TABLE", "").strip() or None,
        )
