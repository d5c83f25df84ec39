"""Operator rules without a code deploy: TOML in an SSM parameter, merged with the built-in catalogue.

The stack's `ExtraRulesParameter` names a String parameter holding rules in the catalogue's
format (docs/rules.md). It is read at most every REFRESH_SECONDS per container, and compiled
only when its text changed. Nothing here fails a notification: a parameter that cannot be read,
text that is not TOML, or a bad rule each become one line in the log and in the message's notes,
and the built-in rules (plus every good extra rule) are used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.errors import error_code
from instance_hygiene.explain.engine import Engine
from instance_hygiene.explain.rules import builtin_catalogue, parse_rules

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

__all__ = ["REFRESH_SECONDS", "ExtraRules", "RuleSource"]

LOGGER = logging.getLogger(__name__)
REFRESH_SECONDS = 300.0
_MAX_NOTES = 3


@dataclass(frozen=True)
class ExtraRules:
    engine: Engine | None
    """The built-in catalogue plus the extra rules; None: the built-in engine."""
    notes: tuple[str, ...] = ()
    """What was not loaded, one line each (at most a few, then how many more)."""


@dataclass
class RuleSource:
    """The extra rules of one SSM parameter, cached per container."""

    parameter: str
    clock: Callable[[], float] = time.monotonic
    _text: str | None = None
    _loaded: ExtraRules = field(default_factory=lambda: ExtraRules(None))
    _fetched_at: float | None = None

    def load(self, ssm: SSMClient) -> ExtraRules:
        now = self.clock()
        if self._fetched_at is not None and now - self._fetched_at < REFRESH_SECONDS:
            return self._loaded
        self._fetched_at = now
        origin = f"ssm:{self.parameter}"
        try:
            text = ssm.get_parameter(Name=self.parameter)["Parameter"]["Value"]
        except (ClientError, BotoCoreError) as error:
            why = error_code(error)
            line = f"Extra rules from {origin} were not read ({why}); built-in rules only."
            LOGGER.warning(line)
            self._text, self._loaded = None, ExtraRules(None, (line,))
            return self._loaded
        if text != self._text:
            self._text, self._loaded = text, _compile(text, origin)
        return self._loaded


def _compile(text: str, origin: str) -> ExtraRules:
    extra = parse_rules(text, origin=origin)
    problems = [str(problem) for problem in extra.problems]
    for problem in problems:
        LOGGER.warning("extra rule not loaded: %s", problem)
    notes = problems[:_MAX_NOTES]
    if len(problems) > _MAX_NOTES:
        notes.append(f"... and {len(problems) - _MAX_NOTES} more extra rules not loaded (see the log).")
    LOGGER.info("extra rules from %s: %d loaded, %d refused", origin, len(extra.rules), len(problems))
    if not extra.rules and not extra.hresults and not extra.exit_codes:
        return ExtraRules(None, tuple(notes))
    try:
        engine = Engine(builtin_catalogue().with_extra(extra))
    except Exception as error:
        line = f"Extra rules from {origin} could not be compiled together ({error}); built-in rules only."
        LOGGER.warning(line)
        return ExtraRules(None, (*notes, line))
    return ExtraRules(engine, tuple(notes))
