"""What `hygiene report` accepts, checked before any call, and its usage error; importable
without loading boto3 (the parser is built at every start).

The id shapes are botocore's ssm model's (2014-11-06 service-2.json): MaintenanceWindowExecutionId
and MaintenanceWindowId (tests/unit/cli/test_report_window.py compares them with the model).
"""

from __future__ import annotations

import argparse
import re
from typing import Final

WINDOW_EXECUTION_ID: Final = re.compile(
    r"^[0-9a-fA-F]{8}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{12}$"
)
"""Shape MaintenanceWindowExecutionId: 36 characters of this pattern."""
WINDOW_ID: Final = re.compile(r"^mw-[0-9a-f]{17}$")
"""Shape MaintenanceWindowId: 20 characters of this pattern."""


class ReportUsageError(ValueError):
    """The options of `hygiene report` do not go together, or do not say which window ran the
    execution; reported as a usage error."""


def window_execution_id(text: str) -> str:
    """An argparse type: `text` when it is a window execution id."""
    if WINDOW_EXECUTION_ID.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a maintenance-window execution id"
            " (36 characters such as 0b9f3c2e-5d4a-4b6c-8e7f-1a2b3c4d5e6f)"
        )
    return text


def window_id(text: str) -> str:
    """An argparse type: `text` when it is a maintenance window id."""
    if WINDOW_ID.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a maintenance window id (mw- and 17 hex digits, such as mw-0123456789abcdef0)"
        )
    return text
