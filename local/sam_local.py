"""`sam local invoke` against the offline stand-in, for `make invoke` (local.invoke) and the container
tests (tests/container): the stack's constants, `sam` run and timed, the Docker engine check, the
Lambda base image, whether the build is current, sam's own environment, the stack in the stand-in
as a container reaches it, and the `sam local invoke` command line.

Nothing here reaches real AWS: sam and the functions get fake credentials and every endpoint (STS
included) is the stand-in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.eventbridge import template_schedules
from local.lambda_env import OFF_AWS
from local.stack import Clients, create_stack, received
from local.stack import Stack as Resources
from local.standin.server import FAKE_CREDENTIALS, Endpoint, free_port

if TYPE_CHECKING:
    from local.demo.subscribers import Notification

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
BUILD_IMAGE = ROOT / "local" / "lambda-image" / "build.sh"
BUILD_DIR = ROOT / ".aws-sam" / "build"
BUILD_SOURCES = ("template.yaml", "functions", "layers")
"""What `sam build` reads: a build older than any file here is rebuilt."""
BIN = Path(sys.executable).parent
LAMBDA_IMAGE = "public.ecr.aws/lambda/python:3.13-x86_64"
REGION = "eu-west-2"
BUCKET = "instance-hygiene-logbucket-1a2b3c4d5e6f"
TABLE = "instance-hygiene-IdempotencyTable-1A2B3C4D5E6F"
TOPIC = "instance-hygiene-NotificationTopic-1A2B3C4D5E6F"
HISTORY = "instance-hygiene-HistoryTable-1A2B3C4D5E6F"
SAMPLE_SCHEDULE = "cron(0 7 * * ? *)"
"""A schedule expression for a scheduled function's parameter (the README's SummarySchedule)."""
DEPLOYED_WITH: dict[str, dict[str, str]] = {
    schedule.function: {schedule.parameter: SAMPLE_SCHEDULE}
    for schedule in template_schedules()
    if schedule.parameter
}
"""The parameters without which a deploy does not create the function (its Condition): a
scheduled function's schedule (tests/unit/local/test_sam_local.py checks the Condition holds)."""
# How a Lambda container reaches this host: the name samconfig.toml maps to the bridge gateway.
CONTAINER_HOST = "host.docker.internal"
ADD_HOST = f"{CONTAINER_HOST}:host-gateway"
# The stand-in listens on every interface: containers arrive through the bridge gateway, not loopback.
ALL_INTERFACES = "0.0.0.0"

TIMINGS: dict[str, float] = {}
"""How long each step run with `run_timed` took, by what it was (the container tests print them)."""


def run_timed(
    command: list[str], *, what: str, timeout: int, **options: Any
) -> subprocess.CompletedProcess[str]:
    """`command` run from the project's root, its time kept in TIMINGS; its output is captured
    unless `options` say where it goes (capture_output=False, stdout=...)."""
    options.setdefault("capture_output", True)
    started = time.monotonic()
    result = subprocess.run(command, text=True, timeout=timeout, check=False, cwd=ROOT, **options)
    TIMINGS[what] = time.monotonic() - started
    return result


def docker_engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None when `docker info` answers."""
    if shutil.which("docker") is None:
        return "the docker command is not installed (apt-get install docker.io)"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 30 s"
    if info.returncode != 0:
        lines = (info.stderr or info.stdout).strip().splitlines()
        return f"`docker info` failed: {lines[-1] if lines else f'exit {info.returncode}'}"
    return None


def bridge_gateway() -> str | None:
    """The default bridge's gateway, where a container reaches this host (host-gateway), when it
    is an address of this host (not so with Docker Desktop's VM)."""
    try:
        inspected = subprocess.run(
            ["docker", "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    address = inspected.stdout.strip()
    if inspected.returncode != 0 or not address:
        return None
    try:
        free_port(address)  # binds there: an address of this host?
    except OSError:
        return None
    return address


def ensure_lambda_image(**options: Any) -> subprocess.CompletedProcess[str]:
    """local/lambda-image/build.sh: nothing when the image is present and current (0.1 s), else
    the stand-in is built (about 45 s, needs root). `options` as for run_timed."""
    return run_timed(
        ["bash", str(BUILD_IMAGE)],
        what="lambda image (local/lambda-image/build.sh)",
        timeout=1200,
        env={**os.environ, "PYTHON": sys.executable},
        **options,
    )


def _files(root: Path, names: Iterable[str]) -> Iterable[Path]:
    for name in names:
        path = root / name
        if path.is_file():
            yield path
        for found in path.rglob("*") if path.is_dir() else ():
            if found.is_file() and "__pycache__" not in found.parts and ".egg-info" not in str(found):
                yield found


def stale_source(build_dir: Path, *, root: Path = ROOT, sources: Sequence[str] = BUILD_SOURCES) -> str | None:
    """Why `sam build` has to run: no build in `build_dir`, or the first source file newer than
    it (relative to `root`); None when the build is current."""
    built = build_dir / "template.yaml"
    if not built.is_file():
        return f"no build in {_shown(build_dir, root)}"
    built_at = built.stat().st_mtime
    for path in _files(root, sources):
        if path.stat().st_mtime > built_at:
            return f"{_shown(path, root)} is newer than the build"
    return None


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def sam_build(
    build_dir: Path, env: dict[str, str], *, cached: bool = True, **options: Any
) -> subprocess.CompletedProcess[str]:
    """`sam build` of template.yaml into `build_dir` (samconfig.toml's cache unless not `cached`).
    `options` as for run_timed."""
    command = [str(BIN / "sam"), "build", "--build-dir", str(build_dir)]
    command += ["--template-file", str(ROOT / "template.yaml")]
    if not cached:
        command.append("--no-cached")
    return run_timed(command, what="sam build", timeout=900, env=env, **options)


def sam_environment(endpoint: Endpoint, home: Path) -> dict[str, str]:
    """For sam itself: fake credentials, STS on the stand-in, no AWS_* value from this shell
    (AWS_ENDPOINT_URL above all: a declared variable would take it), no real profile."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env |= FAKE_CREDENTIALS
    env |= {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # sam build wants python3.13 first
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_STS": endpoint.url,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return env


@dataclass(frozen=True)
class StandinStack:
    """What the functions use at run time in the stand-in, plus a queue subscribed to the topic,
    and clients for the stand-in (`client(service)`)."""

    endpoint: Endpoint
    clients: Clients
    resources: Resources

    @classmethod
    def create(cls, endpoint: Endpoint) -> StandinStack:
        clients = Clients.create(
            REGION,
            endpoint_url=endpoint.url,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        # A deploy that runs the notifier always makes the history table (history and the summary's ledger).
        resources = create_stack(
            clients, region=REGION, bucket=BUCKET, table=TABLE, topic=TOPIC, history_table=HISTORY
        )
        return cls(endpoint=endpoint, clients=clients, resources=resources)

    @property
    def topic_arn(self) -> str:
        return self.resources.topic_arn

    @property
    def queue_url(self) -> str:
        return str(self.resources.queue_url)

    def client(self, service: str) -> Any:
        return self.clients(service)

    def received(self) -> list[dict[str, Any]]:
        """Every notification on the subscribed queue (SNS envelopes), removed from the queue."""
        return received(self.clients.sqs, self.queue_url)

    def notifications(self) -> list[Notification]:
        """The same, each with the e-mail body its subscribers get (the demo's reading)."""
        from local.demo.subscribers import received as notifications  # noqa: PLC0415 - moto's records

        return notifications(self.clients, self.resources)

    def function_environment(self, function: str) -> dict[str, str]:
        """The function's environment from template.yaml, pointed at the stand-in as a container
        reaches it (what `sam local invoke --env-vars` overrides)."""
        return self.resources.function_environment(
            function, endpoint_url=f"http://{CONTAINER_HOST}:{self.endpoint.port}", extra=OFF_AWS
        )

    def write_env_vars(self, path: Path, functions: Iterable[str]) -> Path:
        """The env-vars file of `functions`: {logical id: environment}."""
        path.write_text(json.dumps({f: self.function_environment(f) for f in functions}, indent=2))
        return path


@dataclass(frozen=True)
class Invocation:
    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> Any:
        """The handler's return value: the JSON sam prints last on stdout."""
        return handler_result(self.stdout, self.stderr)


def handler_result(stdout: str, stderr: str = "") -> Any:
    """The handler's return value: the JSON sam prints last on stdout."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"sam printed no result\nstderr:\n{stderr}")
    return json.loads(lines[-1])


def handler_raised(stdout: str) -> bool:
    """`sam local invoke` exits 0 when the handler raises: its result then carries errorType."""
    return "errorType" in stdout


@dataclass
class SamLocal:
    template: Path
    env_vars: Path
    env: dict[str, str]

    def command(self, function: str, event: Path) -> list[str]:
        """`sam local invoke` of the built template, no pull, the host reachable from the container;
        with the parameters a deploy needs to create `function` (DEPLOYED_WITH)."""
        overrides = [f'{key}="{value}"' for key, value in DEPLOYED_WITH.get(function, {}).items()]
        return [
            str(BIN / "sam"),
            "local",
            "invoke",
            function,
            "--event",
            str(event),
            "--template",
            str(self.template),
            "--env-vars",
            str(self.env_vars),
            "--region",
            REGION,
            "--skip-pull-image",
            "--add-host",
            ADD_HOST,
            *(["--parameter-overrides", " ".join(overrides)] if overrides else []),
        ]

    def invoke(self, function: str, event: Path) -> Invocation:
        result = run_timed(
            self.command(function, event),
            what=f"sam local invoke {function} -e events/{event.name}",
            timeout=300,
            env=self.env,
        )
        return Invocation(result.returncode, result.stdout, result.stderr)
