"""One maintenance-window night on the offline stand-in, and the notifications subscribers get.

    python -m local.demo [--scenario NAME|FILE] [--out DIR] [--format text|all] [--night-end TIME]

Starts the stand-in (moto with our SSM extensions, in this process, on a free port of
127.0.0.1), creates the stack's runtime resources in it (local.stack: log bucket with the
healthcheck scripts, topic with a subscribed queue, idempotency table, healthcheck document), plays
the scenario (local/scenarios/<name>.json, checked by local.demo.scenario) with local.fleet_sim and
local.agent_logs (night.py), emits the night's EventBridge events in a shuffled order with one of
them twice, hands those the template's rules match (local.eventbridge) to the real handlers of
functions/*/app.py (local.lambda_env), and prints each notification as the e-mail subscriber reads
it (printing.py). An Organization's file (members, e.g. `org`) plays each member account's night
and has the central stack tell them (organization.py). Every rendering is saved under --out
(default out/demo/<scenario>/). Nothing here calls AWS. The scenario format is in docs/demo.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from local.demo.organization_scenario import organization_names
from local.demo.plays import load, play, report, save, verify
from local.demo.run import DemoError
from local.demo.scenario import ScenarioError, scenario_names
from local.template import ROOT


def _moment(text: str) -> datetime:
    """An ISO 8601 moment with its offset (Z or +01:00): a night ends at an instant."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2026-12-03T10:15:00Z"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no offset: add Z for UTC or one such as +01:00")
    return moment.astimezone(UTC)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.demo",
        description="Play a maintenance-window night on the offline stand-in and show the notifications.",
    )
    parser.add_argument(
        "--scenario",
        default="showcase",
        help=f"a name in local/scenarios ({', '.join(sorted(scenario_names() + organization_names()))}) "
        "or a .json file (default showcase)",
    )
    parser.add_argument("--out", type=Path, help="where to save the renderings (default out/demo/<scenario>)")
    parser.add_argument(
        "--format",
        choices=("text", "all"),
        default="text",
        help="text: the e-mail of each message; all: also its chat and digest JSON",
    )
    parser.add_argument(
        "--night-end",
        type=_moment,
        help="when tonight's window execution ends, e.g. 2026-12-03T10:15:00Z (default: now); "
        "the same moment gives the same renderings",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        scenario = load(args.scenario)
        result = play(scenario, tonight=args.night_end)
        result.seconds = time.perf_counter() - started
        save(result, args.out or ROOT / "out" / "demo" / scenario.name)
        verify(result)
    except (ScenarioError, DemoError) as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # the stand-in or the stage itself broke: say what, then how
        traceback.print_exc()
        print(f"demo failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    report(result, detail=args.format)
    return 0


if __name__ == "__main__":
    sys.exit(main())
