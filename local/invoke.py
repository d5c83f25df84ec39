"""One function with one event in a Lambda container against the offline stand-in, and the
notifications it published: `make invoke [FUNCTION=...] [EVENT=...]`.

    python -m local.invoke [--function LOGICAL_ID] [--event FILE] [--build-dir DIR]

Checks first, starts nothing on a bad argument: the function is one of template.yaml's (default:
the one the template's rules route the event to), the event is a JSON file, a Docker engine
answers. Then: the Lambda base image (local/lambda-image/build.sh: nothing when present and
current); the stand-in on a free port of the Docker bridge's gateway (every interface where that
is no address of this host), with the stack's bucket, table and topic and a queue subscribed to it,
and what the event names (local.event_state); `sam build` into --build-dir when it is missing or
older than a file of template.yaml, functions/ or layers/; a temporary env-vars file pointing the
function at the stand-in; `sam local invoke` (local.sam_local). Prints the handler's result and each
notification as its e-mail subscribers read it; stops the stand-in and removes its files on the way
out, Ctrl-C included. Exit 0: the handler returned; 1: something failed (the handler raised
included); 2: a bad argument or event.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from local.event_state import HEALTHCHECK, EventStateError, seed
from local.eventbridge import route, template_rules, template_schedules
from local.lambda_env import function_ids
from local.sam_local import (
    ALL_INTERFACES,
    BUILD_DIR,
    EVENTS,
    ROOT,
    SamLocal,
    StandinStack,
    bridge_gateway,
    docker_engine_problem,
    ensure_lambda_image,
    handler_raised,
    handler_result,
    sam_build,
    sam_environment,
    stale_source,
)
from local.standin.server import running
from local.template import Deployment

DEFAULT_EVENT = EVENTS / "command-failed.json"
SAM_STOPS_WITHIN = 30
"""Seconds sam gets to remove its container after Ctrl-C before it is killed."""


class InvokeError(Exception):
    """What stops the run, said in one line; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def shown(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def load_event(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InvokeError(f"no event file {path} (the samples are in events/)", 2)
    try:
        event = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvokeError(f"{shown(path)} is not JSON: {error}", 2) from None
    if not isinstance(event, dict):
        raise InvokeError(f"{shown(path)} is not an event (a JSON object)", 2)
    return event


def choose_function(function: str | None, event: Mapping[str, Any], event_path: Path) -> str:
    """`function` when it is one of the template's, else the one the template's rules route the
    event to in the stand-in's stack (its healthcheck document, the event's window), or the
    scheduled function whose schedule's Input the event is (`scheduled_time`: the summary's)."""
    functions = function_ids()
    if function is not None:
        if function not in functions:
            raise InvokeError(f"template.yaml has no function {function}; it has {', '.join(functions)}", 2)
        return function
    if "detail-type" not in event:
        # No rule takes it: EventBridge Scheduler invokes a scheduled function with its Input.
        for schedule in template_schedules():
            if schedule.input_keys and schedule.input_keys <= set(event):
                return schedule.function
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        detail = {}
    deployment = Deployment(
        refs={"HealthcheckDocument": HEALTHCHECK, "MaintenanceWindow": detail.get("window-id")}
    )
    routed = route(template_rules(deployment), event)
    if routed is None:
        raise InvokeError(
            f"no rule of template.yaml takes {shown(event_path)} (detail-type "
            f"{event.get('detail-type')!r}, status {detail.get('status')!r}): "
            f"name the function (FUNCTION=, one of {', '.join(functions)})",
            2,
        )
    return routed


def say(line: str) -> None:
    print(f"invoke: {line}", file=sys.stderr, flush=True)


def run_sam(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """sam's progress and the function's log go to stderr as they come; its stdout (the result)
    is returned. On Ctrl-C sam (which got it too) may stop its container first."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT) as process:
        try:
            stdout, _ = process.communicate()
        except KeyboardInterrupt:
            try:
                process.wait(timeout=SAM_STOPS_WITHIN)
            except subprocess.TimeoutExpired:
                process.kill()
            raise
    return process.returncode, stdout


def invoke(function: str | None, event_path: Path, *, build_dir: Path) -> int:
    event = load_event(event_path)
    function = choose_function(function, event, event_path)
    problem = docker_engine_problem()
    if problem is not None:
        raise InvokeError(f"needs a Docker engine: {problem}")
    image = ensure_lambda_image(capture_output=False, stdout=sys.stderr)
    if image.returncode != 0:
        raise InvokeError(f"no Lambda base image: local/lambda-image/build.sh exited {image.returncode}")
    host = bridge_gateway() or ALL_INTERFACES
    with (
        tempfile.TemporaryDirectory(prefix="instance-hygiene-invoke-") as scratch,
        running(host=host, configure_env=False) as endpoint,
    ):
        env = sam_environment(endpoint, Path(scratch))
        reason = stale_source(build_dir)
        if reason is None:
            say(f"sam build: {shown(build_dir)} is current")
        else:
            say(f"sam build into {shown(build_dir)} ({reason})")
            if sam_build(build_dir, env, capture_output=False, stdout=sys.stderr).returncode != 0:
                raise InvokeError("sam build failed (its output is above)")
        stack = StandinStack.create(endpoint)
        try:
            seeded = seed(stack, [event])
        except EventStateError as error:
            raise InvokeError(f"{shown(event_path)}: {error}", 2) from None
        say(f"stand-in on {endpoint.url}; seeded {'; '.join(seeded.lines()) or 'nothing'}")
        sam = SamLocal(
            template=build_dir / "template.yaml",
            env_vars=stack.write_env_vars(Path(scratch) / "env.json", [function]),
            env=env,
        )
        say(f"sam local invoke {function} -e {shown(event_path)}")
        returncode, stdout = run_sam(sam.command(function, event_path.resolve()), env)
        print(stdout.rstrip(), flush=True)
        notifications = stack.notifications()
    for number, notification in enumerate(notifications, start=1):
        print(f"\n== notification {number} of {len(notifications)} (e-mail) ==")
        print(f"Subject: {notification.subject}\n\n{notification.email.rstrip()}")
    if not notifications:
        say("no notification published")
    if returncode != 0:
        raise InvokeError(f"sam local invoke exited {returncode}")
    if handler_raised(stdout):
        result = handler_result(stdout)
        raise InvokeError(f"the handler raised {result.get('errorType')}: {result.get('errorMessage')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.invoke",
        description="sam local invoke of one function with one event, offline against the stand-in.",
    )
    parser.add_argument(
        "--function",
        help="a function's logical id in template.yaml (default: the one its rules route the event to)",
    )
    parser.add_argument(
        "--event",
        type=Path,
        default=DEFAULT_EVENT,
        help="the event file (default events/command-failed.json)",
    )
    parser.add_argument(
        "--build-dir", type=Path, default=BUILD_DIR, help="sam build's folder (default .aws-sam/build)"
    )
    args = parser.parse_args(argv)
    try:
        return invoke(args.function, args.event, build_dir=args.build_dir.resolve())
    except InvokeError as error:
        print(f"invoke: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("invoke: interrupted (the stand-in is stopped)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
