"""A scenario file of either kind, through one interface: one account's night (scenario.py, run.py)
or an Organization's (organization.py), loaded, played, checked, saved and reported."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from local.demo import printing
from local.demo.organization import OrganizationResult, check_organization, run_organization
from local.demo.organization_scenario import OrganizationScenario, is_organization, parse_organization
from local.demo.run import Result, check, run
from local.demo.scenario import Scenario, ScenarioError, parse_scenario, scenario_path

AnyScenario = Scenario | OrganizationScenario
AnyResult = Result | OrganizationResult


def load(name_or_path: str) -> AnyScenario:
    """A scenario by name (local/scenarios/<name>.json) or path: an Organization's when it has
    members, else one account's."""
    path = scenario_path(name_or_path)
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ScenarioError(f"{path}: not valid JSON: {error}") from None
    return parse_organization(path.stem, raw) if is_organization(raw) else parse_scenario(path.stem, raw)


def play(scenario: AnyScenario, *, tonight: datetime | None = None) -> AnyResult:
    # The layer logs through the standard library, which Lambda's runtime sends to CloudWatch; on
    # the console the demo shows what the subscribers receive, so its warnings (a member role not
    # assumed, ...) go to no handler rather than to Python's last-resort stderr one.
    quiet = logging.getLogger("instance_hygiene")
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    if isinstance(scenario, OrganizationScenario):
        return run_organization(scenario, tonight=tonight)
    return run(scenario, tonight=tonight)


def verify(result: AnyResult) -> None:
    """DemoError unless every failure got exactly one message."""
    if isinstance(result, OrganizationResult):
        check_organization(result)
    else:
        check(result)


def save(result: AnyResult, out: Path) -> None:
    if isinstance(result, OrganizationResult):
        printing.save_organization(result, out)
    else:
        printing.save(result, out)


def report(result: AnyResult, *, detail: str = "text", write: Callable[[str], object] = print) -> None:
    if isinstance(result, OrganizationResult):
        printing.report_organization(result, detail=detail, write=write)
    else:
        printing.report(result, detail=detail, write=write)
