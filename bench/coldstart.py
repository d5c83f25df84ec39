"""Cold start: the import time of each handler module and of the shared package, against
`import boto3` alone, each in a fresh interpreter, rounds interleaved, medians.

Timed in the child with `time.perf_counter()` around the import (interpreter start-up is not
counted); a separate `python -X importtime` run of the command handler says where the time goes.
Handlers are loaded by path, as the Lambda runtime does, with PYTHONPATH=layers/hygiene.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field

from bench.stack import PRODUCT_ENV, RESOURCES, ROOT
from local.lambda_env import COMMAND_FUNCTION

_TIMED = """
import time
start = time.perf_counter()
{body}
print(time.perf_counter() - start)
"""

_BY_PATH = """
import importlib.util
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
"""

COMMAND_HANDLER = "functions/command_failed/app.py"
LAMBDA_TASK_ROOT = ROOT / "functions" / "command_failed"
"""The working directory, as /var/task is in Lambda."""
BOTO3 = "import boto3"
NO_TRACING = f"{COMMAND_HANDLER}, POWERTOOLS_TRACE_DISABLED=true"
DOMAIN = "instance_hygiene.notify (domain modules, no handler)"
WINDOW_HANDLER = "functions/window_failed/app.py"
SCRIPTS_HANDLER = "functions/publish_scripts/app.py"
HANDLERS = (COMMAND_HANDLER, WINDOW_HANDLER, SCRIPTS_HANDLER)
"""The deployed handlers, as Lambda imports them (issue 11 judges the worst of those measured)."""
XRAY = "aws_xray_sdk.core (what Powertools Tracer() imports, even with tracing disabled)"


@dataclass(frozen=True)
class Target:
    body: str
    env: tuple[tuple[str, str], ...] = ()


def _by_path(relative: str) -> str:
    return _BY_PATH.format(path=str(ROOT / relative))


TARGETS: dict[str, Target] = {
    BOTO3: Target("import boto3"),
    COMMAND_HANDLER: Target(_by_path(COMMAND_HANDLER)),
    NO_TRACING: Target(_by_path(COMMAND_HANDLER), (("POWERTOOLS_TRACE_DISABLED", "true"),)),
    WINDOW_HANDLER: Target(_by_path(WINDOW_HANDLER)),
    SCRIPTS_HANDLER: Target(_by_path(SCRIPTS_HANDLER)),
    DOMAIN: Target("import instance_hygiene.notify.command, instance_hygiene.notify.window"),
    "instance_hygiene (package root)": Target("import instance_hygiene"),
    XRAY: Target("import aws_xray_sdk.core"),
    "instance_hygiene.events (pydantic models)": Target("import instance_hygiene.events"),
}
QUICK_TARGETS = (BOTO3, COMMAND_HANDLER, NO_TRACING, WINDOW_HANDLER, DOMAIN, XRAY)

# As deployed: the command function's environment from template.yaml with what Lambda itself sets
# (AWS_LAMBDA_FUNCTION_NAME, ...), and X-Ray tracing on, as the template turns it on.
_CREDENTIALS = {name: PRODUCT_ENV[name] for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
LAMBDA_ENV = {
    **RESOURCES.function_environment(COMMAND_FUNCTION, lambda_variables=True, extra=_CREDENTIALS),
    "PYTHONPATH": str(ROOT / "layers" / "hygiene"),
    "PYTHONDONTWRITEBYTECODE": "1",
}


def _env(target: Target | None = None) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "PYTHON"))}
    return {**keep, **LAMBDA_ENV, **dict(target.env if target else ())}


def _seconds(target: Target) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _TIMED.format(body=target.body)],
        cwd=LAMBDA_TASK_ROOT,
        env=_env(target),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


@dataclass
class ColdStart:
    rounds: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    by_package: dict[str, float] = field(default_factory=dict)
    """Self time (s) by top-level package in one -X importtime run of the command handler."""
    slowest_modules: list[tuple[str, float]] = field(default_factory=list)

    def median(self, target: str) -> float:
        return statistics.median(self.seconds[target])

    def ratio(self, target: str) -> float:
        """Median of the per-round ratios to `import boto3` (same round, same machine state)."""
        base = self.seconds[BOTO3]
        return statistics.median(t / b for t, b in zip(self.seconds[target], base, strict=True))

    def worst_handler(self) -> str | None:
        """The deployed handler with the highest ratio to `import boto3`, of those measured."""
        measured = [h for h in HANDLERS if h in self.seconds]
        return max(measured, key=self.ratio, default=None)


def importtime_breakdown(body: str) -> tuple[dict[str, float], list[tuple[str, float]]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", body],
        cwd=LAMBDA_TASK_ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    by_package: dict[str, float] = defaultdict(float)
    modules: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line.removeprefix("import time:").split("|")
        module = name.strip()
        seconds = int(self_us) / 1e6
        by_package[module.split(".")[0]] += seconds
        modules.append((module, seconds))
    modules.sort(key=lambda item: -item[1])
    modules = modules[:12]
    by_package = defaultdict(float, sorted(by_package.items(), key=lambda item: -item[1]))
    return dict(by_package), modules


def measure(rounds: int, quick: bool) -> ColdStart:
    targets = [t for t in TARGETS if not quick or t in QUICK_TARGETS]
    result = ColdStart(rounds=rounds, seconds={t: [] for t in targets})
    for _ in range(rounds):
        for target in targets:  # interleaved: every round sees every target
            result.seconds[target].append(_seconds(TARGETS[target]))
    result.by_package, result.slowest_modules = importtime_breakdown(TARGETS[COMMAND_HANDLER].body)
    return result
