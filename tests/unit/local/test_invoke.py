"""`make invoke`'s checks (local.invoke) and the build check (local.sam_local.stale_source): what
is refused before anything starts, and the function an event goes to by default. The run itself
(image, stand-in, sam) is tests/container/test_make_invoke.py."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from local import invoke
from local.invoke import InvokeError, choose_function
from local.lambda_env import function_ids
from local.sam_local import DEPLOYED_WITH, ROOT, SamLocal, sam_environment, stale_source
from local.standin.server import Endpoint
from local.template import Deployment
from tests.support.events import EVENTS, load_event


@pytest.fixture
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the run gets past its checks (engine, image, stand-in)."""

    def started(*_: Any, **__: Any) -> Any:
        raise AssertionError("the run went past its checks")

    for step in ("ensure_lambda_image", "running", "sam_build"):
        monkeypatch.setattr(invoke, step, started)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = invoke.main(argv)
    return code, capsys.readouterr().err


@pytest.mark.usefixtures("nothing_starts")
def test_an_unknown_function_is_refused_with_the_templates_functions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(invoke, "docker_engine_problem", lambda: pytest.fail("checked the engine"))

    code, err = run(["--function", "CommandFailed"], capsys)

    assert code == 2
    assert err == f"invoke: template.yaml has no function CommandFailed; it has {', '.join(function_ids())}\n"


@pytest.mark.usefixtures("nothing_starts")
def test_a_missing_event_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["--event", str(tmp_path / "nothing.json")], capsys)

    assert code == 2
    assert err == f"invoke: no event file {tmp_path / 'nothing.json'} (the samples are in events/)\n"


@pytest.mark.usefixtures("nothing_starts")
def test_an_event_that_is_not_json_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "event.json").write_text("{not json")

    code, err = run(["--event", str(tmp_path / "event.json")], capsys)

    assert code == 2
    assert err.startswith(f"invoke: {tmp_path / 'event.json'} is not JSON: ")
    assert err.count("\n") == 1


@pytest.mark.usefixtures("nothing_starts")
def test_without_a_docker_engine_it_says_so_and_starts_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(invoke, "docker_engine_problem", lambda: "`docker info` failed: Cannot connect")

    code, err = run([], capsys)

    assert code == 1
    assert err == "invoke: needs a Docker engine: `docker info` failed: Cannot connect\n"


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("*.json")))
def test_by_default_an_event_goes_to_the_function_the_templates_rules_route_it_to(name: str) -> None:
    # The summary's sample is its schedule's Input: no rule takes it, Scheduler invokes it.
    routes = {"command-": "CommandFailedFunction", "window-": "WindowFailedFunction"}
    expected = next((f for prefix, f in routes.items() if name.startswith(prefix)), "NightSummaryFunction")

    assert choose_function(None, load_event(name), EVENTS / name) == expected


def test_a_named_function_is_taken_whatever_the_event() -> None:
    event = load_event("window-failed.json")

    chosen = choose_function("CommandFailedFunction", event, EVENTS / "window-failed.json")

    assert chosen == "CommandFailedFunction"


def test_the_summary_is_invoked_as_a_deploy_with_its_schedule_creates_it() -> None:
    sam = SamLocal(template=Path("t.yaml"), env_vars=Path("env.json"), env={})

    summary = sam.command("NightSummaryFunction", EVENTS / "night-summary.json")
    command = sam.command("CommandFailedFunction", EVENTS / "command-failed.json")

    assert summary[-2:] == ["--parameter-overrides", 'SummarySchedule="cron(0 7 * * ? *)"']
    assert "--parameter-overrides" not in command


def test_the_parameters_a_local_invoke_passes_are_the_ones_that_create_the_function() -> None:
    # DEPLOYED_WITH is derived from the template's ScheduleV2 events: each function's Condition
    # holds with its parameters and not with the defaults.
    resources = Deployment().source()["Resources"]

    assert set(DEPLOYED_WITH) == {"NightSummaryFunction"}
    for function, parameters in DEPLOYED_WITH.items():
        condition = resources[function]["Condition"]
        assert Deployment(parameters=parameters).condition(condition), function
        assert not Deployment().condition(condition), function


def test_an_event_no_rule_takes_asks_for_the_function() -> None:
    event = load_event("command-failed.json")
    event["detail"]["status"] = "InProgress"  # not an end state: the rule leaves it out

    with pytest.raises(InvokeError, match=r"no rule of template\.yaml takes .*name the function") as refused:
        choose_function(None, event, EVENTS / "command-failed.json")

    assert refused.value.code == 2


def test_ctrl_c_stops_the_standin_and_removes_its_files(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stopped: list[Endpoint] = []
    homes: list[Path] = []

    @contextmanager
    def standin(**_: Any) -> Iterator[Endpoint]:
        endpoint = Endpoint("127.0.0.1", 4566)
        try:
            yield endpoint
        finally:
            stopped.append(endpoint)

    def environment(endpoint: Endpoint, home: Path) -> dict[str, str]:
        homes.append(home)
        return sam_environment(endpoint, home)

    def ctrl_c(*_: Any, **__: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(invoke, "docker_engine_problem", lambda: None)
    monkeypatch.setattr(invoke, "ensure_lambda_image", lambda **_: subprocess.CompletedProcess([], 0))
    monkeypatch.setattr(invoke, "bridge_gateway", lambda: None)
    monkeypatch.setattr(invoke, "running", standin)
    monkeypatch.setattr(invoke, "sam_environment", environment)
    monkeypatch.setattr(invoke, "stale_source", ctrl_c)  # the first step with the stand-in up

    code, err = run([], capsys)

    assert code == 130
    assert err == "invoke: interrupted (the stand-in is stopped)\n"
    assert len(stopped) == 1
    assert len(homes) == 1
    assert not homes[0].exists(), "the env-vars file's folder is removed"


def tree(root: Path, *files: str) -> None:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)


def age(path: Path, seconds_ago: float) -> None:
    moment = path.stat().st_mtime - seconds_ago
    os.utime(path, (moment, moment))


def test_sam_build_runs_without_a_build_and_when_a_source_is_newer(tmp_path: Path) -> None:
    tree(tmp_path, "template.yaml", "functions/command_failed/app.py", "layers/hygiene/requirements.txt")
    build = tmp_path / ".aws-sam" / "build"
    sources = ("template.yaml", "functions", "layers")
    assert stale_source(build, root=tmp_path, sources=sources) == "no build in .aws-sam/build"

    tree(tmp_path, ".aws-sam/build/template.yaml")
    for name in ("template.yaml", "functions/command_failed/app.py", "layers/hygiene/requirements.txt"):
        age(tmp_path / name, 60)
    assert stale_source(build, root=tmp_path, sources=sources) is None

    tree(tmp_path, "functions/command_failed/__pycache__/app.cpython-313.pyc")
    assert stale_source(build, root=tmp_path, sources=sources) is None, "bytecode is no source"

    (tmp_path / "functions/command_failed/app.py").write_text("changed")
    assert stale_source(build, root=tmp_path, sources=sources) == (
        "functions/command_failed/app.py is newer than the build"
    )


def test_make_invoke_passes_only_what_it_is_given() -> None:
    def recipe(*variables: str) -> str:
        dry = subprocess.run(
            ["make", "--no-print-directory", "-n", "-o", "venv", "invoke", *variables],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        return " ".join(dry.stdout.replace("\\\n", " ").split())

    given = ("FUNCTION=WindowFailedFunction", "EVENT=events/window-failed.json", "BUILD_DIR=b")

    assert recipe().endswith("/python -m local.invoke")
    assert recipe(*given).endswith(
        "/python -m local.invoke --function WindowFailedFunction --event events/window-failed.json"
        " --build-dir b"
    )
