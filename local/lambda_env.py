"""What Lambda gives a function off AWS: its environment, its context, its module.

- `function_environment(logical_id, deployment)`: the variables template.yaml gives the function
  (Globals.Function.Environment, then the function's own), resolved for one deploy, with the
  region Lambda sets and, optionally, the rest of Lambda's own variables.
- `LambdaContext`: names, memory, ARN, request id, log stream and a deadline from the timeout;
  the clock it runs on can be given (a frozen one: a fixed remaining time).
- `load_handler_module(directory)`: functions/<directory>/app.py imported by path, as a fresh
  module with a name of its own, the way the Lambda runtime imports a handler file, and with
  none of the clients instance_hygiene.aws.clients built before (a cold start).

Nothing here imports boto3 or moto: a handler process measured on its own carries only the
function's weight (the template is read on first use only).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from local.template import ACCOUNT, REGION, ROOT, TEMPLATE, Deployment, raw_template

COMMAND_FUNCTION = "CommandFailedFunction"
WINDOW_FUNCTION = "WindowFailedFunction"
SUMMARY_FUNCTION = "NightSummaryFunction"
SCRIPTS_FUNCTION = "PublishScriptsFunction"
OFF_AWS = {"POWERTOOLS_TRACE_DISABLED": "true"}
"""What every off-AWS run changes: the template turns X-Ray tracing on, and no daemon listens here."""
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"
"""Declared empty in the template so `sam local invoke --env-vars` can point a function at the
stand-in; here it is the stand-in's URL when one is given, or left out (moto in this process)."""


@dataclass(frozen=True)
class FunctionSpec:
    """One AWS::Serverless::Function of the template, as Lambda runs it."""

    logical_id: str
    directory: str
    """functions/<directory>/ (the CodeUri)."""
    handler: str
    timeout_seconds: int
    memory_mb: int
    variables: Mapping[str, Any] = field(default_factory=dict)
    """Globals' variables, then the function's own, unresolved."""


@cache
def _specs(template: Path) -> dict[str, FunctionSpec]:
    raw = raw_template(template)
    defaults = raw.get("Globals", {}).get("Function", {})
    specs = {}
    for logical_id, resource in raw["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = {**defaults, **resource.get("Properties", {})}
        variables = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **resource["Properties"].get("Environment", {}).get("Variables", {}),
        }
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            directory=Path(props["CodeUri"]).name,
            handler=props["Handler"],
            timeout_seconds=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            variables=variables,
        )
    return specs


def function_ids(template: Path = TEMPLATE) -> list[str]:
    """The logical ids of the template's functions, in template order."""
    return list(_specs(template))


def function_spec(logical_id: str, template: Path = TEMPLATE) -> FunctionSpec:
    specs = _specs(template)
    if logical_id not in specs:
        raise KeyError(f"{template.name} has no function {logical_id}; it has {sorted(specs)}")
    return specs[logical_id]


def function_environment(
    logical_id: str,
    deployment: Deployment,
    *,
    endpoint_url: str | None = None,
    lambda_variables: bool = False,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The function's environment as the deployed stack gives it, then `extra` (what the caller
    changes: OFF_AWS, a log level, credentials). AWS_DEFAULT_REGION is always set, as Lambda sets it;
    `lambda_variables` adds the rest of what Lambda sets (AWS_LAMBDA_FUNCTION_NAME, ...)."""
    spec = function_spec(logical_id, deployment.template)
    environment = {name: _text(deployment.resolve(value)) for name, value in spec.variables.items()}
    if endpoint_url is None:
        environment.pop(ENDPOINT_VARIABLE, None)
    else:
        environment[ENDPOINT_VARIABLE] = endpoint_url
    environment["AWS_DEFAULT_REGION"] = deployment.region
    if lambda_variables:
        environment |= {
            "AWS_REGION": deployment.region,
            "AWS_LAMBDA_FUNCTION_NAME": function_name(logical_id, deployment),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name(logical_id, deployment)}",
        }
    return environment | dict(extra or {})


def function_name(logical_id: str, deployment: Deployment) -> str:
    """The name CloudFormation gives a function without FunctionName: <stack>-<logical id>."""
    return f"{deployment.stack_name}-{logical_id}"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _monotonic() -> float:
    return time.monotonic()


def frozen_clock() -> float:
    """A clock that never moves: the context's remaining time stays what its timeout says."""
    return 0.0


@dataclass
class LambdaContext:
    """What Lambda passes a handler. The deadline is `timeout_seconds` after construction on
    `clock` (seconds; time.monotonic unless given)."""

    function_name: str = "hygiene-test"
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 300.0
    region: str = REGION
    account: str = ACCOUNT
    aws_request_id: str = "c0ffee00-0000-4000-8000-000000000001"
    log_stream_name: str = "2026/11/26/[$LATEST]0123456789abcdef"
    function_version: str = "$LATEST"
    clock: Callable[[], float] = _monotonic
    _deadline: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._deadline = self.clock() + self.timeout_seconds

    @classmethod
    def of(cls, logical_id: str, deployment: Deployment, **given: Any) -> LambdaContext:
        """The context of one of the template's functions (its name, memory and timeout)."""
        spec = function_spec(logical_id, deployment.template)
        values: dict[str, Any] = {
            "function_name": function_name(logical_id, deployment),
            "memory_limit_in_mb": spec.memory_mb,
            "timeout_seconds": spec.timeout_seconds,
            "region": deployment.region,
            "account": deployment.account,
        }
        return cls(**(values | given))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        # The epsilon keeps a frozen clock's remaining time exact (300.0 s -> 300000 ms).
        return max(0, int((self._deadline - self.clock()) * 1000 + 1e-6))


def load_handler_module(directory: str, *, root: Path = ROOT) -> ModuleType:
    """functions/<directory>/app.py imported from its file as a fresh module (its own name, so the
    functions' modules never clash), the way the Lambda runtime imports the handler's file; the
    clients the handlers share (instance_hygiene.aws.clients) are forgotten, as in a new container."""
    path = root / "functions" / directory / "app.py"
    spec = importlib.util.spec_from_file_location(f"functions_{directory}_app", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # A cold start: no client survives from an earlier load (another moto, other credentials).
    from instance_hygiene.aws import clients  # noqa: PLC0415 - the handlers' own client cache

    clients.clear_cache()
    return module


def load_function(logical_id: str, deployment: Deployment | None = None) -> ModuleType:
    """The module of one of the template's functions (its CodeUri's app.py)."""
    template = deployment.template if deployment else TEMPLATE
    return load_handler_module(function_spec(logical_id, template).directory)
