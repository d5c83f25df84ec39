"""The functions' own log lines are redacted like a message: a log record names commands, keys,
instances and reasons, and CloudWatch Logs is read by more people than the topic.

`redact_log_records(logger)` adds `RedactingFilter` to the handlers of the Powertools logger and of
the root logger (which the package's module loggers propagate to): a handler's filter sees every
record it writes, whoever logged it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from instance_hygiene.secrets.redact import clean

__all__ = ["RedactingFilter", "redact_log_records"]

# What every LogRecord has; anything else was passed as `extra=` and is redacted like the message.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_DEPTH = 4


def _redacted(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return clean(value)
    if depth >= _DEPTH:
        return value
    if isinstance(value, Mapping):
        return {key: _redacted(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redacted(item, depth + 1) for item in value)
    return value


class RedactingFilter(logging.Filter):
    """Redacts a record's message (with its arguments merged in) and every string in its extras."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_hygiene_redacted", False):
            record.msg = clean(record.getMessage())
            record.args = None
            for key, value in list(record.__dict__.items()):
                if key not in _STANDARD:
                    record.__dict__[key] = _redacted(value)
            record._hygiene_redacted = True
        return True


def redact_log_records(*loggers: logging.Logger | Any) -> None:
    """Add one RedactingFilter to the handlers of `loggers` (Powertools loggers included) and of
    the root logger; calling it again adds nothing."""
    handlers = [*logging.getLogger().handlers]
    for logger in loggers:
        handlers.extend(getattr(logger, "handlers", ()))
    for handler in handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())
