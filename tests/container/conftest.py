"""Built artefacts in a Lambda container: a Docker engine, the Python 3.13 base image, one `sam build`,
and the offline AWS stand-in listening where the containers can reach it.

No Docker engine: these tests are skipped with the reason, unless REQUIRE_CONTAINER_TESTS=1 (CI),
where they fail. Nothing here reaches real AWS: sam and the functions get fake credentials and
every endpoint (STS included) is the stand-in.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.lambda_env import COMMAND_FUNCTION, SUMMARY_FUNCTION, WINDOW_FUNCTION
from local.sam_local import (
    ALL_INTERFACES,
    LAMBDA_IMAGE,
    TIMINGS,
    SamLocal,
    StandinStack,
    docker_engine_problem,
    ensure_lambda_image,
    sam_build,
    sam_environment,
)
from local.standin.server import Endpoint, free_port, running


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("sam local invoke timings")
        for what, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{what:<60} {seconds:6.1f} s")


@pytest.fixture(scope="module")
def docker_engine() -> Iterator[None]:
    """Everything that runs a container starts here: skipped (or failed in CI) without an engine."""
    started = time.monotonic()
    problem = docker_engine_problem()
    if problem is None:
        yield
        TIMINGS["all container tests (engine check to teardown)"] = time.monotonic() - started
        return
    reason = f"no Docker engine: {problem}; start dockerd or run .ci/run"
    if os.environ.get("REQUIRE_CONTAINER_TESTS") == "1":
        pytest.fail(f"{reason} (REQUIRE_CONTAINER_TESTS=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def lambda_image(docker_engine: None) -> str:
    """The Python 3.13 base image, real or our stand-in (built once, reused while its recipe holds)."""
    result = ensure_lambda_image()
    assert result.returncode == 0, f"build.sh failed:\n{result.stdout}\n{result.stderr}"
    return LAMBDA_IMAGE


@pytest.fixture(scope="module")
def standin(docker_engine: None) -> Iterator[Endpoint]:
    """The stand-in on every interface (a container reaches it through the bridge gateway)."""
    with running(host=ALL_INTERFACES, port=free_port(ALL_INTERFACES), configure_env=False) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sam-local")


@pytest.fixture(scope="module")
def built_template(lambda_image: str, standin: Endpoint, workdir: Path) -> Path:
    """One `sam build` for every invocation (--no-cached: nothing written to the repo's .aws-sam)."""
    build_dir = workdir / "build"
    result = sam_build(build_dir, sam_environment(standin, workdir), cached=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return build_dir / "template.yaml"


@pytest.fixture(scope="module")
def stack(standin: Endpoint) -> StandinStack:
    """What `sam deploy` creates that the functions call: bucket, idempotency and history
    tables, topic."""
    return StandinStack.create(standin)


@pytest.fixture(scope="module")
def sam_local(built_template: Path, stack: StandinStack, workdir: Path) -> SamLocal:
    """`sam local invoke` on the built template, each function pointed at the stand-in."""
    env_vars = stack.write_env_vars(
        workdir / "env.json", (COMMAND_FUNCTION, WINDOW_FUNCTION, SUMMARY_FUNCTION)
    )
    return SamLocal(template=built_template, env_vars=env_vars, env=sam_environment(stack.endpoint, workdir))
