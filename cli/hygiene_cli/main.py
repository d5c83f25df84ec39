"""The ``hygiene`` command line.

Each subcommand is one ``register_*`` function that adds its subparser and sets ``handler``
(a function from the parsed arguments to an exit code); add it to ``SUBCOMMANDS``.

Exit codes, for every subcommand: 0 done (for ``report``: nothing failed), 1 ``report`` found
failures, 2 a usage or input error (``USER_ERRORS``: one ``hygiene: error: ...`` line, no
traceback), 3 AWS refused or could not be reached (credentials, network, an API error: one
``hygiene: AWS error: ...`` line).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError, NoRegionError, ProfileNotFound

from hygiene_cli.expressions import ScheduleError, parse_schedule
from hygiene_cli.schedule import (
    DstAdjustment,
    Run,
    next_runs,
    resolve_wall_clock,
    time_zone,
    validate_schedule_offset,
)
from hygiene_cli.usage import ReportUsageError, window_execution_id, window_id
from instance_hygiene import __version__
from instance_hygiene.aws.fleet import CommandNotFound
from instance_hygiene.digest.invocations import InvocationsFileError
from instance_hygiene.digest.logs import read_bounded

if TYPE_CHECKING:
    from instance_hygiene.explain.summarise import StreamText

PROG: Final = "hygiene"
DEFAULT_TIMEZONE: Final = "Europe/London"
DEFAULT_COUNT: Final = 10


class RulesFileError(ValueError):
    """The --rules file of `hygiene explain` has a problem; reported as a usage error."""


USER_ERRORS: Final[tuple[type[Exception], ...]] = (
    ScheduleError,
    InvocationsFileError,
    CommandNotFound,
    FileNotFoundError,
    NotADirectoryError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    RulesFileError,
    ReportUsageError,
    # configuration the user gave (or did not): usage errors, though botocore raises them
    NoRegionError,
    ProfileNotFound,
)
FAILURES_FOUND: Final = 1
"""Exit code of `report` when the command (a command of the window execution) did not succeed on
every instance."""
AWS_ERROR_EXIT: Final = 3
"""Exit code when AWS refused or could not be reached (credentials, network, API errors)."""
PROGRESS_AFTER_SECONDS: Final = 1.0
"""A report that takes longer says on stderr that it is working (stdout stays the report)."""

type Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
type Handler = Callable[[argparse.Namespace], int]


# ------------------------------------------------------------------- hygiene schedule


def register_schedule(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "schedule",
        help="validate a maintenance-window schedule and list its next runs",
        description=(
            "Validate an SSM maintenance-window schedule expression (cron(...), rate(...) or"
            " at(...)) and list its next runs in a time zone, daylight saving included."
        ),
    )
    parser.add_argument("expression", metavar="EXPR", help="e.g. 'cron(0 9 ? * TUE#2 *)'")
    parser.add_argument(
        "--timezone",
        metavar="TZ",
        default=DEFAULT_TIMEZONE,
        help=f"IANA time zone, the window's ScheduleTimezone (default {DEFAULT_TIMEZONE})",
    )
    parser.add_argument(
        "--count",
        metavar="N",
        type=_positive_int,
        default=DEFAULT_COUNT,
        help=f"number of runs to list (default {DEFAULT_COUNT})",
    )
    parser.add_argument(
        "--start",
        metavar="ISO8601",
        type=_iso_datetime,
        help="list runs at or after this time; without an offset it is local to --timezone (default now)",
    )
    parser.add_argument(
        "--offset",
        metavar="DAYS",
        type=int,
        default=0,
        help="the window's ScheduleOffset, 1-6 days after each cron date (cron only)",
    )
    parser.set_defaults(handler=run_schedule)


def run_schedule(args: argparse.Namespace) -> int:
    schedule = parse_schedule(args.expression)
    validate_schedule_offset(schedule, args.offset)
    zone = time_zone(args.timezone)
    start: datetime = args.start or datetime.now(UTC).replace(microsecond=0)
    if start.tzinfo is None:
        start, _ = resolve_wall_clock(start, zone)
    runs = next_runs(schedule, args.timezone, start, args.count, offset_days=args.offset)

    offset = f" + ScheduleOffset {args.offset} day{_plural(args.offset)}" if args.offset else ""
    print(
        f"{schedule.expression}{offset} in {args.timezone}:"
        f" next {len(runs)} run{_plural(len(runs))} from {_local(start.astimezone(zone))}"
    )
    for run in runs:
        print(format_run(run))
    if not runs:
        print("  (no runs at or after the start)")
    return 0


def format_run(run: Run) -> str:
    """One line: local time with zone abbreviation and offset, the UTC time, DST markers."""
    line = f"  {_local(run.local)}  =  {run.utc:%a %Y-%m-%d %H:%M:%S} UTC"
    markers = []
    if run.utc_offset_changed:
        markers.append("UTC offset changes (DST)")
    if run.dst_adjustment is DstAdjustment.SHIFTED_FORWARD:
        markers.append(
            f"{run.wall_clock:%H:%M} does not exist (clocks go forward), shifted to {run.local:%H:%M}"
        )
    elif run.dst_adjustment is DstAdjustment.FIRST_OF_REPEATED:
        markers.append(f"{run.wall_clock:%H:%M} happens twice (clocks go back), runs once, at the first")
    return f"{line}  <- {'; '.join(markers)}" if markers else line


def _local(moment: datetime) -> str:
    return f"{moment:%a %Y-%m-%d %H:%M:%S} {moment:%Z} (UTC{moment:%:z})"


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _iso_datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO 8601 date-time such as 2026-03-27T09:00 or 2026-03-27T09:00Z"
        ) from None


# ------------------------------------------------------------------- hygiene report


def register_report(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="build the failure digest of one command or a window execution (from AWS, or saved files)",
        description=(
            "Build the same digest the notifier publishes, for one Run Command: from a real account"
            " (--command-id, default credentials) or offline from the output of"
            " `aws ssm list-command-invocations --command-id ID --details --output json` (--invocations)"
            " and a local copy of the command's S3 output"
            " (--logs, from `aws s3 sync s3://BUCKET/PREFIX/ID DIR`)."
            " With --window-execution-id, a whole night from the account: the window's report, then"
            " the digest of each of its commands that did not succeed everywhere, as the notifier"
            " sends them (json and chat: one message per line)."
        ),
    )
    parser.epilog = (
        "Exit status: 0 the command (every command of the window execution) succeeded on every"
        " instance, 1 failures found (or a window task that never ran or ran on no instance), 2 usage"
        " or input error, 3 AWS or credentials error."
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--command-id", metavar="ID", help="read the command from the account")
    source.add_argument(
        "--invocations",
        metavar="FILE",
        help="list-command-invocations --details JSON output, or - for standard input",
    )
    source.add_argument(
        "--window-execution-id",
        metavar="ID",
        type=window_execution_id,
        help="read every command of this maintenance-window execution from the account",
    )
    window = parser.add_mutually_exclusive_group()
    window.add_argument(
        "--window-id",
        metavar="ID",
        type=window_id,
        help=(
            "the window that ran --window-execution-id (its execution does not say; default: the"
            " account's window whose executions include it)"
        ),
    )
    window.add_argument(
        "--stack-name",
        metavar="NAME",
        help="read --window-id from this stack's MaintenanceWindowId output",
    )
    parser.add_argument(
        "--logs", metavar="DIR", help="local copy of the command's output (with --invocations)"
    )
    parser.add_argument(
        "--region",
        metavar="R",
        help="AWS region (with --command-id or --window-execution-id; default from your config)",
    )
    parser.add_argument(
        "--profile",
        metavar="P",
        help="AWS profile (with --command-id or --window-execution-id; default: your default credentials)",
    )
    parser.add_argument(
        "--format", choices=("text", "json", "chat"), default="text", help="what to print (default text)"
    )
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    from hygiene_cli.sources import digest_from_account, digest_from_files  # noqa: PLC0415
    from instance_hygiene.render.command import render  # noqa: PLC0415

    if args.window_execution_id:
        return _report_night(args)
    if args.window_id or args.stack_name:
        raise ReportUsageError("--window-id and --stack-name are for --window-execution-id")
    if args.invocations:
        if args.profile:
            raise FileNotFoundError("--profile is for --command-id; --invocations reads no account")
        with _progress("reading the invocations and their logs"):
            digest = digest_from_files(args.invocations, args.logs)
    else:
        if args.logs:
            raise FileNotFoundError("--logs is for --invocations; with --command-id logs are read from S3")
        with _progress(f"reading command {args.command_id}, its invocations and their logs from AWS"):
            digest = digest_from_account(args.command_id, region=args.region, profile=args.profile)
    rendered = render(digest)
    output = {"text": rendered.text, "json": rendered.machine, "chat": rendered.chat}[args.format]
    sys.stdout.write(output if output.endswith("\n") else output + "\n")
    return FAILURES_FOUND if digest.counts.not_succeeded or digest.failure_count else 0


def _report_night(args: argparse.Namespace) -> int:
    """`--window-execution-id`: the window's report and each failed command's digest (hygiene_cli.night)."""
    import boto3  # noqa: PLC0415 - only the AWS subcommands need it

    from hygiene_cli.night import read_night_report, render_night, window_from_stack  # noqa: PLC0415

    if args.logs:
        raise ReportUsageError("--logs is for --invocations; a window execution's logs are read from S3")
    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    execution = args.window_execution_id
    with _progress(f"reading window execution {execution}, its commands and their logs from AWS"):
        window = args.window_id or (
            window_from_stack(session.client("cloudformation"), args.stack_name) if args.stack_name else None
        )
        night = read_night_report(session, window_id=window, window_execution_id=execution)
    sys.stdout.write(render_night(night, args.format))
    return FAILURES_FOUND if night.failed else 0


@contextmanager
def _progress(what: str) -> Iterator[None]:
    """Say on stderr what is being done once it takes more than PROGRESS_AFTER_SECONDS, and how
    long it took when it was said."""
    started = time.monotonic()
    said = threading.Event()

    def say() -> None:
        said.set()
        print(f"{PROG}: {what} ...", file=sys.stderr, flush=True)

    timer = threading.Timer(PROGRESS_AFTER_SECONDS, say)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if said.is_set():
            print(f"{PROG}: done in {time.monotonic() - started:.1f} s", file=sys.stderr)


# ------------------------------------------------------------------------------ main

# ------------------------------------------------------------------- hygiene explain

_DOCUMENTS: Final = {
    "patch": "AWS-RunPatchBaseline",
    "healthcheck": "instance-hygiene-Healthcheck",
    "shell": "AWS-RunShellScript",
}


def register_explain(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="explain one command output log: reason, next step and excerpt",
        description=(
            "Summarise one log as a notification would (the same catalogue, the same head and "
            "tail budget), to see which rule explains it or to try a rule of your own."
        ),
    )
    parser.add_argument("log", metavar="FILE", nargs="?", default="-", help="the stdout log, or - for stdin")
    parser.add_argument("--stderr", metavar="FILE", help="the step's stderr log, if there is one")
    parser.add_argument("--document", choices=sorted(_DOCUMENTS), default="patch", help="default: patch")
    parser.add_argument(
        "--step", metavar="NAME", help="the failed step, e.g. PatchLinux (default per document)"
    )
    parser.add_argument(
        "--exit-code", type=int, metavar="N", help="the step's exit code (default 1)", default=1
    )
    parser.add_argument(
        "--rules", metavar="FILE", help="extra rules (TOML, docs/rules.md) added to the catalogue"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=run_explain)


def run_explain(args: argparse.Namespace) -> int:
    from instance_hygiene.explain.engine import Engine  # noqa: PLC0415 - only this subcommand needs RE2
    from instance_hygiene.explain.rules import builtin_catalogue, parse_rules  # noqa: PLC0415
    from instance_hygiene.explain.summarise import summarise_failure  # noqa: PLC0415

    engine = None
    if args.rules:
        extra = parse_rules(_read_text(args.rules), origin=args.rules)
        if extra.problems:
            raise RulesFileError("; ".join(str(problem) for problem in extra.problems))
        engine = Engine(builtin_catalogue().with_extra(extra))
    default_step = {
        "patch": "PatchLinux",
        "healthcheck": "RunLinuxHealthcheck",
        "shell": "0.awsrunShellScript",
    }
    summary = summarise_failure(
        document_name=_DOCUMENTS[args.document],
        status="Failed",
        status_details="Failed",
        step=args.step or default_step[args.document],
        response_code=args.exit_code,
        stdout=_as_read(_read_bytes(args.log)),
        stderr=_as_read(_read_bytes(args.stderr)) if args.stderr else None,
        engine=engine,
    )
    if args.format == "json":
        print(
            json.dumps(
                {
                    "reason": summary.reason,
                    "next_step": summary.next_step,
                    "rule": summary.rule,
                    "severity": summary.severity,
                    "exit_code": summary.exit_code,
                    "exit_meaning": summary.exit_meaning,
                    "excerpt": list(summary.excerpt),
                },
                indent=2,
            )
        )
        return 0
    print(f"reason:    {summary.reason}")
    print(f"next step: {summary.next_step or '-'}")
    print(
        f"rule:      {summary.rule or '- (no rule; a generic fallback)'}"
        + (f" ({summary.severity})" if summary.severity else "")
    )
    meaning = f" ({summary.exit_meaning})" if summary.exit_meaning else ""
    print(f"exit code: {'-' if summary.exit_code is None else summary.exit_code}{meaning}")
    print("excerpt:")
    for line in summary.excerpt or ("(no lines to show)",):
        print(f"  | {line}")
    return 0


def _read_bytes(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as handle:
        return handle.read()


def _read_text(path: str) -> str:
    return _read_bytes(path).decode("utf-8")


def _as_read(data: bytes) -> StreamText | None:
    """The log as the notifier reads it from S3: its head and tail within the read budget."""
    if not data:
        return None
    return read_bounded(lambda first, last: data[first : last + 1], len(data)).text


# --------------------------------------------------------------- hygiene notify-test


def register_notify_test(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "notify-test",
        help="publish one TEST notification to the topic, to check its subscriptions",
        description=(
            "Publish one sample notification, labelled TEST, to the notification topic (given, or"
            " the stack's NotificationTopicArn output): a real digest of a sample failure, rendered"
            " for e-mail, chat and machines as a night's message is, with message attribute kind"
            " 'test'. Prints the SNS MessageId. Exit 0 published, 2 usage error, 3 AWS error."
        ),
    )
    topic = parser.add_mutually_exclusive_group(required=True)
    topic.add_argument("--topic-arn", metavar="ARN", help="the SNS topic to publish to")
    topic.add_argument(
        "--stack-name", metavar="NAME", help="read the topic from this stack's NotificationTopicArn output"
    )
    parser.add_argument(
        "--region", metavar="R", help="AWS region of the stack (default: the topic ARN's, else your config)"
    )
    parser.add_argument("--profile", metavar="P", help="AWS profile (default: your default credentials)")
    parser.set_defaults(handler=run_notify_test)


def run_notify_test(args: argparse.Namespace) -> int:
    import boto3  # noqa: PLC0415 - only the AWS subcommands need it
    from botocore.exceptions import NoRegionError, ProfileNotFound  # noqa: PLC0415

    from hygiene_cli.notify_test import (  # noqa: PLC0415
        NotifyTestError,
        send_test_notification,
        topic_from_stack,
        topic_region,
    )

    try:
        given = topic_region(args.topic_arn) if args.topic_arn else None
        if given and args.region and args.region != given:
            raise NotifyTestError(f"the topic is in {given}, not in --region {args.region}")
        session = boto3.session.Session(profile_name=args.profile, region_name=args.region or given)
        topic_arn = args.topic_arn or topic_from_stack(session.client("cloudformation"), args.stack_name)
        region = topic_region(topic_arn)  # SNS takes a publish in the topic's own region
        sent = send_test_notification(
            session.client("sns", region_name=region),
            topic_arn=topic_arn,
            region=region,
            local_date=datetime.now(UTC).date().isoformat(),
        )
    except (NotifyTestError, NoRegionError, ProfileNotFound) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"{PROG}: AWS error: {error}", file=sys.stderr)
        return AWS_ERROR_EXIT
    print(f"published to {sent.topic_arn}: {sent.subject}")
    print(f"MessageId: {sent.message_id}")
    return 0


SUBCOMMANDS: Final[tuple[Callable[[Subparsers], None], ...]] = (
    register_schedule,
    register_report,
    register_explain,
    register_notify_test,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Instance hygiene for SSM maintenance windows.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for register in SUBCOMMANDS:
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse has printed usage (status 2) or --help/--version (0)
        return exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 2
    handler: Handler = args.handler
    try:
        return handler(args)
    except USER_ERRORS as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"{PROG}: AWS error: {exc}", file=sys.stderr)
        return AWS_ERROR_EXIT
