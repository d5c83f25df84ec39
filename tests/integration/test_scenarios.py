"""The scenario files and the agent outputs the demo plays them with.

Each scenario in local/scenarios is loaded and played in-process (moto.mock_aws with the SSM
stand-in), then read back through the APIs the handlers use: invocation statuses, the S3 keys
the agent would have written, the window execution and the EventBridge events of the night.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from instance_hygiene.explain.summarise import StreamText, parse_patch_summary, summarise_failure
from local import agent_logs
from local.agent_logs import HEALTHCHECK, LINUX, MACOS, PATCH, WINDOWS
from local.demo import scenario as scenarios
from local.demo.night import Night, allocate, play_night, set_up
from local.demo.organization_scenario import ORGANIZATION_KEYS
from local.eventbridge import route, template_rules
from local.stack import Clients, provision
from tests.cfn import ROOT
from tests.support.stack import standin_in_process

REGION = "eu-west-2"
LOG_LINE = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} root \[(INFO|WARNING|ERROR)\]: .+$")
STARTED = datetime(2024, 6, 11, 2, 0, tzinfo=UTC)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    with standin_in_process(monkeypatch) as clients:
        yield clients


def context(task: str, **changes: Any) -> agent_logs.TaskContext:
    return agent_logs.TaskContext(
        task=task,
        command_id="0b4f9a2e-6c1d-4e8f-9a7b-3c2d1e0f4a5b",
        started=STARTED,
        **({"seed": 7} | changes),
    )


def host(index: int = 3, platform: str = LINUX) -> agent_logs.Host:
    return agent_logs.Host.of(
        index, f"i-0a1b2c3d4e5f6{index:04d}", f"web-{index:02d}", platform, seed=7, region=REGION
    )


# --------------------------------------------------------------------------- playing the files


def expected_statuses(night: Night, task: str) -> Counter[tuple[str, str]]:
    """(Status, StatusDetails) per invocation as the scenario file says: the listed kinds, and every
    other targeted instance its platform's default (Success, or the macOS healthcheck failure)."""
    played = night.tasks[task]
    listed = Counter({entry.kind: entry.count for entry in night.scenario.plan(task).outcomes})
    assert Counter(k for k in played.kinds.values() if k not in scenarios.IMPLIED_KINDS) == listed
    expected: Counter[tuple[str, str]] = Counter()
    platforms = {h.instance_id: h.platform for h in night.hosts}
    for instance_id, kind in played.kinds.items():
        if kind in scenarios.IMPLIED_KINDS:
            assert kind == agent_logs.default_kind(task, platforms[instance_id])
        spec = agent_logs.KINDS[kind]
        expected[spec.status, spec.status_details] += 1
    return expected


def invocations(clients: Clients, command_id: str) -> list[Mapping[str, Any]]:
    pages = clients.ssm.get_paginator("list_command_invocations").paginate(CommandId=command_id, Details=True)
    return [dict(item) for page in pages for item in page["CommandInvocations"]]


def keys_by_instance(clients: Clients, bucket: str, command_id: str) -> dict[str, set[str]]:
    """What S3 holds for the command, per instance: '<action>/<step>/<stream>'."""
    found: dict[str, set[str]] = {}
    pages = clients.s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"ssm_output/{command_id}/"
    )
    for page in pages:
        for item in page.get("Contents", []):
            _, _, instance_id, rest = item["Key"].split("/", 3)
            found.setdefault(instance_id, set()).add(rest)
    return found


# The objects each kind leaves (a stream is uploaded only when it is not empty; skipped steps and
# an instance without permission leave nothing). None: depends on the instance (cancelled).
EXPECTED_KEYS: dict[tuple[str, str, str], set[str] | None] = {
    (PATCH, "success", LINUX): {"awsrunShellScript/PatchLinux/stdout"},
    (PATCH, "success", WINDOWS): {"awsrunPowerShellScript/PatchWindows/stdout"},
    (PATCH, "yum-lock", LINUX): {"awsrunShellScript/PatchLinux/stdout"},
    (PATCH, "no-mirrors", LINUX): {"awsrunShellScript/PatchLinux/stdout"},
    (PATCH, "large-log", LINUX): {"awsrunShellScript/PatchLinux/stdout"},
    (PATCH, "reboot-with-failures", LINUX): {"awsrunShellScript/PatchLinux/stdout"},
    (PATCH, "timed-out-execution", LINUX): {"awsrunShellScript/PatchLinux/stdout"},
    (PATCH, "apt-python3", LINUX): {
        "awsrunShellScript/PatchLinux/stdout",
        "awsrunShellScript/PatchLinux/stderr",
    },
    (PATCH, "script-permission-denied", LINUX): {"awsrunShellScript/PatchLinux/stderr"},
    (PATCH, "windows-update-search", WINDOWS): {
        "awsrunPowerShellScript/PatchWindows/stdout",
        "awsrunPowerShellScript/PatchWindows/stderr",
    },
    (PATCH, "windows-update-offline", WINDOWS): {
        "awsrunPowerShellScript/PatchWindows/stdout",
        "awsrunPowerShellScript/PatchWindows/stderr",
    },
    (PATCH, "no-s3-permission", LINUX): set(),
    (PATCH, "no-s3-permission", WINDOWS): set(),
    (PATCH, "success", MACOS): set(),  # PatchMacOS output is not modelled: nothing printed, nothing kept
    (HEALTHCHECK, "success", LINUX): {"awsrunShellScript/RunLinuxHealthcheck/stdout"},
    (HEALTHCHECK, "success", WINDOWS): {"awsrunPowerShellScript/RunWindowsHealthcheck/stdout"},
    (HEALTHCHECK, "healthcheck-disk", LINUX): {
        "awsrunShellScript/RunLinuxHealthcheck/stdout",
        "awsrunShellScript/RunLinuxHealthcheck/stderr",
    },
    (HEALTHCHECK, "healthcheck-disk", WINDOWS): {
        "awsrunPowerShellScript/RunWindowsHealthcheck/stdout",
        "awsrunPowerShellScript/RunWindowsHealthcheck/stderr",
    },
    (HEALTHCHECK, "healthcheck-memory", WINDOWS): {
        "awsrunPowerShellScript/RunWindowsHealthcheck/stdout",
        "awsrunPowerShellScript/RunWindowsHealthcheck/stderr",
    },
    (HEALTHCHECK, "healthcheck-memory", LINUX): {
        "awsrunShellScript/RunLinuxHealthcheck/stdout",
        "awsrunShellScript/RunLinuxHealthcheck/stderr",
    },
    (HEALTHCHECK, "healthcheck-macos", MACOS): {
        "awsrunShellScript/RunMacOSHealthcheck/stdout",
        "awsrunShellScript/RunMacOSHealthcheck/stderr",
    },
    (HEALTHCHECK, "healthcheck-script-missing", LINUX): {"awsrunShellScript/RunLinuxHealthcheck/stderr"},
    (HEALTHCHECK, "healthcheck-script-missing", WINDOWS): {
        "awsrunPowerShellScript/RunWindowsHealthcheck/stderr"
    },
    (HEALTHCHECK, "timed-out-execution", LINUX): {"awsrunShellScript/RunLinuxHealthcheck/stdout"},
    (HEALTHCHECK, "timed-out-execution", WINDOWS): {"awsrunPowerShellScript/RunWindowsHealthcheck/stdout"},
    (HEALTHCHECK, "cancelled", LINUX): None,
    (HEALTHCHECK, "cancelled", WINDOWS): None,
}


def assert_keys(night: Night, clients: Clients, task: str) -> None:
    played = night.tasks[task]
    assert played.command is not None
    found = keys_by_instance(clients, night.stack.bucket, played.command.command_id)
    for instance in night.hosts:
        kind = played.kinds.get(instance.instance_id)
        keys = found.get(instance.instance_id, set())
        if kind is None:
            assert keys == set(), f"{instance.name} is not a target of the window: no output"
            continue
        if kind == "delivery-timed-out":
            assert keys == set(), f"{instance.name} never ran {task}: no output"
            continue
        expected = EXPECTED_KEYS[task, kind, instance.platform]
        if expected is None:  # cancelled: mid-run (partial stdout) or not started (nothing)
            assert keys <= {
                f"{'awsrunShellScript' if instance.platform == LINUX else 'awsrunPowerShellScript'}"
                f"/Run{'Linux' if instance.platform == LINUX else 'Windows'}Healthcheck/stdout"
            }
            continue
        assert keys == expected, f"{task} {kind} on {instance.name} ({instance.platform})"


def events_by_type(night: Night) -> Counter[str]:
    return Counter(event["detail-type"] for event in night.events)


@pytest.mark.parametrize("name", scenarios.scenario_names())
def test_every_scenario_plays_as_written(aws: Clients, name: str) -> None:
    # Given the scenario file
    scenario = scenarios.load_scenario(name)

    # When it is played on the stand-in
    stack = provision(aws, region=REGION, seed=scenario.seed)
    night = play_night(scenario, aws, stack)

    # Then every command ended per instance as the file says, read back through the API
    assert len(night.hosts) == scenario.size
    for task in night.tasks.values():
        if task.command is None:
            continue
        listed = invocations(aws, task.command.command_id)
        assert len(listed) == scenario.targeted
        assert Counter((i["Status"], i["StatusDetails"]) for i in listed) == expected_statuses(
            night, task.task
        )
        assert_keys(night, aws, task.task)
    # and the window execution and its tasks are recorded for the window function
    execution = aws.ssm.get_maintenance_window_execution(WindowExecutionId=night.window_execution_id)
    assert execution["Status"] == night.window_status
    recorded = aws.ssm.describe_maintenance_window_execution_tasks(
        WindowExecutionId=night.window_execution_id
    )
    statuses = {t["TaskArn"]: t["Status"] for t in recorded["WindowExecutionTaskIdentities"]}
    ran = [t for t in night.tasks.values() if t.task_status != "NOT_RUN"]
    assert statuses == {t.document: t.task_status for t in ran}
    # and the night emitted every event once: window, tasks, commands, invocations
    sent = len(night.commands())
    expected_events = {
        "Maintenance Window Execution State-change Notification": 2,
        "Maintenance Window Task Execution State-change Notification": 2 * len(ran),
        "EC2 Command Status-change Notification": 2 * sent,
        "EC2 Command Invocation Status-change Notification": scenario.targeted * sent,
    }
    assert events_by_type(night) == {k: v for k, v in expected_events.items() if v}
    assert len({event["id"] for event in night.events}) == len(night.events)
    final = {
        e["detail"]["command-id"]: e["detail"]["status"]
        for e in night.events
        if e["detail-type"] == "EC2 Command Status-change Notification"
        and e["detail"]["status"] != "InProgress"
    }
    assert final == {t.command.command_id: t.command_status for t in night.commands() if t.command}


def test_clean_fails_nothing(aws: Clients) -> None:
    scenario = scenarios.load_scenario("clean")

    night = play_night(scenario, aws, provision(aws, region=REGION, seed=scenario.seed))

    assert night.window_status == "SUCCESS"
    assert {t.command_status for t in night.commands()} == {"Success"}
    rules = template_rules(night.stack.deployment(window_id=night.window.window_id))
    routed = [e for e in night.events if route(rules, e)]
    assert len(routed) == 3, "both commands' Success and the window's SUCCESS are checked"
    assert not any(night.worth_telling(e) for e in routed), "and none is worth telling"


def test_showcase_is_cut_off_during_the_healthcheck_with_maxerrors_letting_it_run(aws: Clients) -> None:
    scenario = scenarios.load_scenario("showcase")

    night = play_night(scenario, aws, provision(aws, region=REGION, seed=scenario.seed))

    assert scenario.window.max_errors == "100%"
    assert scenario.window.max_errors_why, "the scenario says why"
    patch, health = night.tasks[PATCH], night.tasks[HEALTHCHECK]
    assert (patch.command_status, patch.task_status) == ("Failed", "FAILED")
    assert (health.command_status, health.task_status) == ("Cancelled", "TIMED_OUT")
    assert night.window_status == "TIMED_OUT"
    assert len(night.offline) == 1, "the stopped instance"
    (stopped,) = night.offline
    assert patch.kinds[stopped] == health.kinds[stopped] == "delivery-timed-out", "stopped all night"
    state = aws.ec2.describe_instances(InstanceIds=[stopped])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "stopped"
    kinds = Counter(patch.kinds.values())
    assert {"yum-lock", "no-mirrors", "windows-update-search"} <= set(kinds), "three kinds of patch failure"
    platforms = {h.instance_id: h.platform for h in night.hosts}
    assert {platforms[i] for i, k in patch.kinds.items() if k in {"yum-lock", "no-mirrors"}} == {LINUX}
    assert {platforms[i] for i, k in patch.kinds.items() if k == "windows-update-search"} == {WINDOWS}
    managed = [h for h in night.hosts if h.instance_id.startswith("mi-")]
    assert len(managed) == 2
    listed = aws.ssm.describe_instance_information(
        Filters=[{"Key": "ResourceType", "Values": ["ManagedInstance"]}]
    )
    assert {i["InstanceId"] for i in listed["InstanceInformationList"]} == {h.instance_id for h in managed}


def test_a_window_whose_patch_task_exceeds_maxerrors_never_runs_the_healthcheck(aws: Clients) -> None:
    scenario = scenarios.parse_scenario(
        "strict",
        {
            "fleet": [{"count": 4, "platform": "linux", "name_prefix": "web"}],
            "window": {"max_errors": "0"},
            "patch": {"outcomes": {"yum-lock": 1}},
        },
    )

    night = play_night(scenario, aws, provision(aws, region=REGION, seed=scenario.seed))

    assert night.tasks[PATCH].task_status == "FAILED"
    assert night.tasks[PATCH].task_status_details == "The maximum number of errors was exceeded."
    assert night.tasks[HEALTHCHECK].command is None
    assert night.window_status == "FAILED"


def test_allocation_is_deterministic_and_keeps_a_stopped_instance_offline_all_night(
    aws: Clients,
) -> None:
    scenario = scenarios.load_scenario("showcase")
    hosts = [
        agent_logs.Host.of(i, f"i-{i:017x}", f"h-{i}", LINUX if i % 4 else WINDOWS, seed=1, region=REGION)
        for i in range(50)
    ]

    first = {t: allocate(scenario, hosts, t) for t in (PATCH, HEALTHCHECK)}
    again = {t: allocate(scenario, hosts, t) for t in (PATCH, HEALTHCHECK)}

    assert first == again
    offline = {i for t in first.values() for i, e in t.items() if e.kind == "delivery-timed-out"}
    assert len(offline) == 1


def test_an_earlier_night_plays_on_the_same_fleet_and_window_with_its_own_ids(aws: Clients) -> None:
    # Given a scenario whose night before stopped an instance that tonight reaches again
    scenario = scenarios.parse_scenario(
        "two-nights",
        {
            "fleet": [{"count": 4, "platform": "linux", "name_prefix": "web"}],
            "window": {"max_errors": "100%"},
            "earlier_nights": [{"patch": {"outcomes": {"delivery-timed-out": 1, "yum-lock": 1}}}],
            "patch": {"outcomes": {"yum-lock": 1}},
        },
    )
    stack = provision(aws, region=REGION, seed=scenario.seed)
    fleet = set_up(scenario, aws, stack)

    # When the night before is played a day earlier, then tonight's
    tonight_end = datetime(2024, 6, 12, 3, 15, tzinfo=UTC)
    before = play_night(
        scenario.nights_before(1),
        aws,
        stack,
        fleet=fleet,
        end=tonight_end - timedelta(days=1),
        nights_before=1,
    )
    tonight = play_night(scenario, aws, stack, fleet=fleet, end=tonight_end)

    # Then both ran on the same instances and window, each with its own commands and execution
    assert before.window.window_id == tonight.window.window_id
    assert [h.instance_id for h in before.hosts] == [h.instance_id for h in tonight.hosts]
    assert before.window_execution_id != tonight.window_execution_id
    ids = {t.command.command_id for n in (before, tonight) for t in n.commands() if t.command}
    assert len(ids) == 4
    # and the yum lock is on the same instance both nights (what history counts as recurring)
    locked = [{i for i, k in n.tasks[PATCH].kinds.items() if k == "yum-lock"} for n in (before, tonight)]
    assert locked[0] == locked[1]
    # and the instance stopped the night before is running again tonight
    (stopped,) = before.offline
    assert tonight.offline == []
    state = aws.ec2.describe_instances(InstanceIds=[stopped])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "running"
    executions = aws.ssm.describe_maintenance_window_executions(WindowId=fleet.window.window_id)
    assert len(executions["WindowExecutions"]) == 2


# --------------------------------------------------------------------------- what must not go unnoticed


def night_of(aws: Clients, name: str) -> Night:
    scenario = scenarios.load_scenario(name)
    return play_night(scenario, aws, provision(aws, region=REGION, seed=scenario.seed))


def listed_command(aws: Clients, night: Night, task: str) -> Mapping[str, Any]:
    played = night.tasks[task].command
    assert played is not None
    (command,) = aws.ssm.list_commands(CommandId=played.command_id)["Commands"]
    return command


def final_status(night: Night, task: str) -> str:
    played = night.tasks[task].command
    assert played is not None
    (status,) = [
        e["detail"]["status"]
        for e in night.events
        if e["detail-type"] == "EC2 Command Status-change Notification"
        and e["detail"]["command-id"] == played.command_id
        and e["detail"]["status"] != "InProgress"
    ]
    return str(status)


def counts(command: Mapping[str, Any]) -> tuple[Any, ...]:
    keys = ("Status", "StatusDetails", "TargetCount", "CompletedCount", "ErrorCount", "DeliveryTimedOutCount")
    return tuple(command[k] for k in keys)


def test_partial_ends_success_with_its_errors_within_maxerrors(aws: Clients) -> None:
    night = night_of(aws, "partial")

    # the stand-in as the scenario sets it (UNVERIFIED): an Incomplete command reports Success
    assert counts(listed_command(aws, night, PATCH)) == ("Success", "Incomplete", 40, 40, 3, 0)
    assert final_status(night, PATCH) == "Success", "the event carries what ListCommands reports"
    assert night.tasks[PATCH].task_status == "SUCCESS"
    assert counts(listed_command(aws, night, HEALTHCHECK)) == ("Success", "Success", 40, 40, 0, 0)
    assert night.window_status == "SUCCESS"


def test_partial_under_the_default_rules_is_a_failed_command(aws: Clients) -> None:
    raw = json.loads(scenarios.scenario_path("partial").read_text())
    scenario = scenarios.parse_scenario("partial-default", {**raw, "standin": {}})

    night = play_night(scenario, aws, provision(aws, region=REGION, seed=scenario.seed))

    assert counts(listed_command(aws, night, PATCH))[:2] == ("Failed", "Incomplete")
    assert final_status(night, PATCH) == "Failed"
    assert night.window_status == "FAILED"


def test_unreachable_instances_leave_the_healthcheck_incomplete(aws: Clients) -> None:
    night = night_of(aws, "unreachable")

    health = listed_command(aws, night, HEALTHCHECK)
    assert counts(health) == ("Success", "Incomplete", 24, 24, 0, 3), "delivery timeouts: no errors"
    assert final_status(night, HEALTHCHECK) == "Success"
    timed_out = {
        i["InstanceId"]
        for i in invocations(aws, health["CommandId"])
        if i["StatusDetails"] == "Delivery Timed Out"
    }
    assert timed_out == set(night.offline)
    assert counts(listed_command(aws, night, PATCH))[:2] == ("Success", "Success"), "patched before"
    information = aws.ssm.describe_instance_information(
        Filters=[{"Key": "PingStatus", "Values": ["ConnectionLost"]}]
    )["InstanceInformationList"]
    assert {i["InstanceId"] for i in information} == timed_out, "they are stopped"
    assert night.window_status == "SUCCESS"


def test_incomplete_event_carries_the_detailed_status(aws: Clients) -> None:
    night = night_of(aws, "incomplete-event")

    assert counts(listed_command(aws, night, HEALTHCHECK)) == ("Success", "Incomplete", 16, 16, 3, 0)
    assert final_status(night, HEALTHCHECK) == "Incomplete", "a status beyond the documented seven"
    assert final_status(night, PATCH) == "Success"
    assert night.window_status == "SUCCESS"


def test_no_targets_runs_both_tasks_on_no_instance(aws: Clients) -> None:
    night = night_of(aws, "no-targets")

    assert aws.ssm.list_commands()["Commands"] == [], "no command was sent"
    tagged = aws.ec2.describe_instances(Filters=[{"Name": "tag:Patch Group", "Values": ["production"]}])
    assert sum(len(r["Instances"]) for r in tagged["Reservations"]) == 10
    execution = aws.ssm.get_maintenance_window_execution(WindowExecutionId=night.window_execution_id)
    assert execution["Status"] == "SUCCESS"
    assert len(execution["TaskIds"]) == 2
    for task_id in execution["TaskIds"]:
        task = aws.ssm.get_maintenance_window_execution_task(
            WindowExecutionId=night.window_execution_id, TaskId=task_id
        )
        assert task["Status"] == "SUCCESS"
        listed = aws.ssm.describe_maintenance_window_execution_task_invocations(
            WindowExecutionId=night.window_execution_id, TaskId=task_id
        )
        assert listed["WindowExecutionTaskInvocationIdentities"] == []


def test_macos_nodes_are_ec2_mac_instances_that_fail_the_healthcheck(aws: Clients) -> None:
    night = night_of(aws, "macos")
    macs = {h.instance_id for h in night.hosts if h.platform == MACOS}

    information = aws.ssm.describe_instance_information(
        Filters=[{"Key": "PlatformTypes", "Values": ["MacOS"]}]
    )["InstanceInformationList"]
    assert {i["InstanceId"] for i in information} == macs
    assert {(i["PlatformName"], i["ResourceType"]) for i in information} == {("macOS", "EC2Instance")}
    described = aws.ec2.describe_instances(InstanceIds=sorted(macs))["Reservations"]
    assert {i["InstanceType"] for r in described for i in r["Instances"]} == {"mac1.metal"}
    health = listed_command(aws, night, HEALTHCHECK)
    assert counts(health)[:2] == ("Failed", "Failed")
    document = yaml.safe_load((ROOT / "documents" / "healthcheck.yaml").read_text())
    (script,) = next(s for s in document["mainSteps"] if s["name"] == "RunMacOSHealthcheck")["inputs"][
        "runCommand"
    ]
    ran = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False, timeout=10)
    for invocation in invocations(aws, health["CommandId"]):
        plugins = {p["Name"]: p for p in invocation["CommandPlugins"]}
        assert list(plugins) == [step["name"] for step in document["mainSteps"]]
        if invocation["InstanceId"] not in macs:
            assert invocation["Status"] == "Success"
            continue
        assert invocation["Status"] == "Failed"
        mac = plugins.pop("RunMacOSHealthcheck")
        assert (mac["Status"], mac["ResponseCode"]) == ("Failed", ran.returncode)
        assert mac["Output"].startswith(ran.stdout), "what the document's script prints"
        assert all(p["Output"].startswith("Step execution skipped") for p in plugins.values())
    patch = listed_command(aws, night, PATCH)
    assert counts(patch)[:2] == ("Success", "Success")
    assert night.window_status == "FAILED"


def test_task_not_run_ends_success_without_the_healthcheck(aws: Clients) -> None:
    night = night_of(aws, "task-not-run")

    execution = aws.ssm.get_maintenance_window_execution(WindowExecutionId=night.window_execution_id)
    assert execution["Status"] == "SUCCESS"
    recorded = aws.ssm.describe_maintenance_window_execution_tasks(
        WindowExecutionId=night.window_execution_id
    )["WindowExecutionTaskIdentities"]
    assert [t["TaskArn"] for t in recorded] == ["AWS-RunPatchBaseline"]
    registered = aws.ssm.describe_maintenance_window_tasks(WindowId=night.window.window_id)["Tasks"]
    assert {t["TaskArn"] for t in registered} == {"AWS-RunPatchBaseline", night.stack.healthcheck_document}
    assert [c["DocumentName"] for c in aws.ssm.list_commands()["Commands"]] == ["AWS-RunPatchBaseline"]


def test_a_macos_outcome_has_every_step_of_the_document() -> None:
    mac = agent_logs.Host.of(6, "i-0a1b2c3d4e5f60006", "mac-01", MACOS, seed=7, region=REGION)

    failed = agent_logs.outcome("healthcheck-macos", mac, context(HEALTHCHECK))
    patched = agent_logs.outcome("success", mac, context(PATCH))

    document = yaml.safe_load((ROOT / "documents" / "healthcheck.yaml").read_text())
    assert [s.name for s in failed.steps] == [step["name"] for step in document["mainSteps"]]
    *skipped_steps, run = failed.steps
    assert not any(s.reaches_s3 for s in skipped_steps)
    assert run.stderr.endswith("failed to run commands: exit status 1\n")
    assert [s.name for s in patched.steps] == ["PatchLinux", "PatchWindows", "PatchMacOS"]
    assert patched.steps[-1].status == "Success"
    with pytest.raises(ValueError, match="cannot pass the healthcheck"):
        agent_logs.outcome("success", mac, context(HEALTHCHECK))


# --------------------------------------------------------------------------- the files are checked

LINUX_PAIR = [{"count": 2, "platform": "linux", "name_prefix": "a"}]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"fleet": []}, "fleet: expected a non-empty list"),
        ({"fleet": [{"count": 2, "platform": "mac", "name_prefix": "a"}]}, "is not one of"),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "patch": {"outcomes": {"nope": 1}},
            },
            "unknown kind 'nope'",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "patch": {"outcomes": {"yum-lock": 3}},
            },
            "3 outcomes listed for a fleet of 2",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "healthcheck": {"outcomes": {"cancelled": 1}},
            },
            "'cancelled' needs window.cutoff",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "window": {"cutoff": {"task": "healthcheck", "when": "during"}},
            },
            "needs cutoff_behavior CANCEL_TASK",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "healthcheck": {"outcomes": {"healthcheck-service": 1}},
            },
            "needs RequiredServices",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "patch": {"outcomes": {"yum-lock": {"count": 1, "platform": "windows"}}},
            },
            "'windows' is not one of ['linux']",
        ),
        ({"fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}], "windw": {}}, "unknown key(s)"),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "window": {"max_errors": "0.5"},
            },
            "window.max_errors",
        ),
        ({"fleet": [{"count": 2, "platform": "macos", "name_prefix": "a", "managed": True}]}, "EC2 Mac"),
        (
            {"fleet": [{"count": 2, "platform": "linux", "name_prefix": "a", "patch_group": ""}]},
            "patch_group",
        ),
        ({"fleet": [{**LINUX_PAIR[0], "managed": "yes"}]}, "managed"),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a", "patch_group": "other"}],
                "patch": {"outcomes": {"yum-lock": 1}},
            },
            "1 outcomes listed for the 0 instance(s) of 2 tagged Patch Group=prod",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "macos", "name_prefix": "a"}],
                "patch": {"outcomes": {"yum-lock": {"count": 1, "platform": "macos"}}},
            },
            "'macos' is not one of ['linux']",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "macos", "name_prefix": "a"}],
                "healthcheck": {"outcomes": {"healthcheck-macos": 1}},
            },
            "'healthcheck-macos' is implied",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "window": {"not_run": "patch"},
            },
            "window.not_run: expected a list",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "window": {"not_run": ["patch", "healthcheck"]},
            },
            "at least one task runs",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "window": {"not_run": ["healthcheck"]},
                "healthcheck": {"outcomes": {"healthcheck-disk": 1}},
            },
            "healthcheck: in window.not_run, so it can have no outcomes",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "standin": {"incomplete": "x"},
            },
            "standin: unknown key(s) ['incomplete']",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "standin": {"incomplete_status": "Incomplete"},
            },
            "standin.incomplete_status: 'Incomplete' is not one of ['Failed', 'Success']",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "standin": {"delivery_timeouts_count": "no"},
            },
            "standin.delivery_timeouts_count: expected true or false",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "standin": {"command_event_status": "details"},
            },
            "standin.command_event_status: 'details' is not one of ['Status', 'StatusDetails']",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "earlier_nights": [{"patch": {"outcomes": {"yum-lock": 3}}}],
            },
            "earlier_nights[0].patch: 3 outcomes listed for a fleet of 2",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "earlier_nights": [{}, {"healthcheck": {"outcomes": {"cancelled": 1}}}],
            },
            "earlier_nights[1].healthcheck: 'cancelled' needs window.cutoff",
        ),
        (
            {
                "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
                "earlier_nights": [{"patch": {"parameters": {"Operation": "Scan"}}}],
            },
            "earlier_nights[0].patch: unknown key(s) ['parameters']; allowed: ['outcomes']",
        ),
        (
            {"fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}], "earlier_nights": [{}] * 8},
            "earlier_nights: expected a list of at most 7 nights",
        ),
    ],
)
def test_a_wrong_scenario_says_what_and_where(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(scenarios.ScenarioError, match=re.escape(message)):
        scenarios.parse_scenario("broken", raw)


def test_allocation_that_cannot_be_met_is_an_error() -> None:
    scenario = scenarios.parse_scenario(
        "short",
        {
            "fleet": [{"count": 2, "platform": "linux", "name_prefix": "a"}],
            "patch": {"outcomes": {"windows-update-search": 1}},
        },
    )
    hosts = [host(i) for i in range(2)]

    with pytest.raises(scenarios.ScenarioError, match="1 needed on windows, only 0"):
        allocate(scenario, hosts, PATCH)


def test_unknown_scenario_lists_the_known_ones() -> None:
    known = (
        "clean, incomplete-event, large, macos, no-targets, org, partial, recurring, showcase, "
        "task-not-run, unreachable"
    )
    with pytest.raises(scenarios.ScenarioError, match=f"known: {known}$"):
        scenarios.load_scenario("nope")


# --------------------------------------------------------------------------- what the agent writes


def failed_step(outcome: Any) -> Any:
    return next(step for step in outcome.steps if step.status != "Success")


def reason(kind: str, task: str = PATCH, platform: str = LINUX) -> str:
    document = "AWS-RunPatchBaseline" if task == PATCH else "instance-hygiene-HealthcheckDocument-X"
    settings = agent_logs.HealthcheckSettings(
        required_services=("sshd", "nginx"), fail_on_pending_reboot=True
    )
    outcome = agent_logs.outcome(kind, host(4, platform), context(task, healthcheck=settings))
    step = failed_step(outcome)
    return summarise_failure(
        document_name=document,
        status=outcome.status,
        status_details=outcome.status_details,
        step=step.name,
        response_code=step.response_code,
        stdout=StreamText(step.stdout) if step.stdout else None,
        stderr=StreamText(step.stderr) if step.stderr else None,
    ).reason


@pytest.mark.parametrize(
    ("kind", "task", "platform", "expected"),
    [
        ("yum-lock", PATCH, LINUX, "yum lock held by another process"),
        ("no-mirrors", PATCH, LINUX, "yum timed out fetching https://cdn.amazonlinux.com/"),
        ("apt-python3", PATCH, LINUX, "Apt patching requires Python3 on the instance"),
        ("script-permission-denied", PATCH, LINUX, "agent script not executable: permission denied"),
        ("reboot-with-failures", PATCH, LINUX, "rpm: /usr/lib64/libssl.so.10 from openssl-libs"),
        ("windows-update-search", PATCH, WINDOWS, "Windows Update search failed with 0x80240437: "),
        ("windows-update-offline", PATCH, WINDOWS, "Windows Update search failed with 0x80072EE2: "),
        ("healthcheck-disk", HEALTHCHECK, LINUX, "healthcheck: 1 of 7 checks failed: disk:/"),
        ("healthcheck-disk", HEALTHCHECK, WINDOWS, "healthcheck: 1 of 7 checks failed: disk:C:"),
        ("healthcheck-service", HEALTHCHECK, LINUX, "healthcheck: 1 of 7 checks failed: service:nginx"),
        ("healthcheck-reboot", HEALTHCHECK, WINDOWS, "healthcheck: 1 of 7 checks failed: pending-reboot"),
        ("healthcheck-script-missing", HEALTHCHECK, LINUX, "healthcheck script missing"),
        ("timed-out-execution", PATCH, LINUX, "timed out during execution (step PatchLinux)"),
        ("healthcheck-macos", HEALTHCHECK, MACOS, "healthcheck: 1 of 1 checks failed: platform:macOS"),
    ],
)
def test_each_failure_reads_as_its_cause(kind: str, task: str, platform: str, expected: str) -> None:
    assert reason(kind, task, platform).startswith(expected)


def test_outputs_are_deterministic_per_seed_and_instance() -> None:
    one = agent_logs.outcome("success", host(3), context(PATCH))

    assert agent_logs.outcome("success", host(3), context(PATCH)) == one
    assert agent_logs.outcome("success", host(8), context(PATCH)) != one
    assert agent_logs.outcome("success", host(3), context(PATCH, seed=8)) != one


def test_linux_patch_log_has_the_agent_format_and_a_summary_dict() -> None:
    # index 3: one of every third host prints the harmless kernel-access warning
    step = agent_logs.outcome("success", host(3), context(PATCH)).steps[0]

    agent_lines = [line for line in step.stdout.splitlines() if " root [" in line]
    assert agent_lines
    assert all(LOG_LINE.match(line) for line in agent_lines)
    assert any(
        "[WARNING]: Unable to gain necessary access for possible kernel updates" in line
        for line in agent_lines
    )
    summary_line = next(line for line in agent_lines if "Summary: {" in line)
    summary = ast.literal_eval(summary_line.split("Summary: ", 1)[1])
    assert summary["OperationType"] == "Install"
    assert summary["FailedCount"] == 0
    assert parse_patch_summary(step.stdout) is not None
    assert (step.name, step.action, step.response_code) == ("PatchLinux", "aws:runShellScript", 0)
    names = [s.name for s in agent_logs.outcome("success", host(3), context(PATCH)).steps]
    assert names == ["PatchLinux", "PatchWindows", "PatchMacOS"]


def test_windows_failure_reports_minus_one_counts_and_the_unsigned_exit_status() -> None:
    outcome = agent_logs.outcome("windows-update-offline", host(2, WINDOWS), context(PATCH))

    skipped_linux, step, skipped_mac = outcome.steps
    assert (step.name, step.action, step.response_code) == ("PatchWindows", "aws:runPowerShellScript", -1)
    assert "Patch Summary for EC2AMAZ-" in step.stdout
    assert re.search(r"^InstalledCount\s+: -1$", step.stdout, re.MULTILINE)
    assert "0x80072EE2" in step.stderr
    assert step.stderr.endswith("failed to run commands: exit status 4294967295\n")
    assert not skipped_linux.reaches_s3
    assert not skipped_mac.reaches_s3
    counts = parse_patch_summary(step.stdout)
    assert counts is not None
    assert counts.installed is None, "-1 means unknown"


def test_healthcheck_lines_follow_the_script() -> None:
    passing = failed = None
    for kind in ("success", "healthcheck-disk"):
        outcome = agent_logs.outcome(kind, host(5), context(HEALTHCHECK))
        run = next(s for s in outcome.steps if s.name == "RunLinuxHealthcheck")
        if kind == "success":
            passing = run
        else:
            failed = run
    assert passing is not None
    assert failed is not None

    *checks, final = passing.stdout.splitlines()
    assert all(re.fullmatch(r"CHECK \S+ (PASS|FAIL|SKIP) \S.*", line) for line in checks)
    assert final == f"HEALTHCHECK PASS {len(checks)} checks"
    assert (passing.response_code, passing.stderr) == (0, "")
    *checks, final = failed.stdout.splitlines()
    assert final == f"HEALTHCHECK FAIL 1 of {len(checks)} checks failed: disk:/"
    assert failed.stderr.splitlines() == [final, "failed to run commands: exit status 1"]
    assert failed.response_code == 1
    steps = [s.name for s in agent_logs.outcome("success", host(5), context(HEALTHCHECK)).steps]
    document = yaml.safe_load((ROOT / "documents" / "healthcheck.yaml").read_text())
    assert steps == [step["name"] for step in document["mainSteps"]], "every step of the document, in order"


def test_timeouts_and_cancellations_leave_no_or_partial_output() -> None:
    timed_out = failed_step(agent_logs.outcome("timed-out-execution", host(2), context(PATCH)))
    assert (timed_out.status, timed_out.response_code) == ("TimedOut", 137)
    assert "Summary:" not in timed_out.stdout, "stopped before the end"
    never_started = agent_logs.outcome("cancelled", host(1), context(HEALTHCHECK))
    assert (never_started.status, never_started.steps) == ("Cancelled", ())
    mid_run = agent_logs.outcome("cancelled", host(2, WINDOWS), context(HEALTHCHECK))
    run = next(s for s in mid_run.steps if s.name == "RunWindowsHealthcheck")
    assert (run.status, run.response_code) == ("Cancelled", -1)
    assert "HEALTHCHECK" not in run.stdout
    assert agent_logs.outcome("delivery-timed-out", host(1), context(PATCH)).steps == ()


def test_a_large_log_is_built_quickly_with_its_cause_at_the_end() -> None:
    size = 20 * 1024 * 1024
    started = time.perf_counter()

    log = agent_logs.large_patch_log(host(), context(PATCH), size)

    assert time.perf_counter() - started < 3
    assert abs(len(log) - size) < size * 0.02
    assert log.rstrip().endswith("[ERROR]: Patch operation failed: [Errno 28] No space left on device")
    assert "No space left on device" not in log[: len(log) - 4096]


def test_a_kind_on_the_wrong_platform_or_task_is_refused() -> None:
    with pytest.raises(ValueError, match="does not happen on windows"):
        agent_logs.outcome("yum-lock", host(1, WINDOWS), context(PATCH))
    with pytest.raises(ValueError, match="does not happen in the healthcheck task"):
        agent_logs.outcome("yum-lock", host(1), context(HEALTHCHECK))


def test_scenario_files_are_valid_json_with_the_documented_keys() -> None:
    for path in sorted(scenarios.SCENARIOS.glob("*.json")):
        raw = json.loads(path.read_text())
        # An Organization's file (its members' nights in this format) is local.demo.organization_scenario's.
        assert set(raw) <= (ORGANIZATION_KEYS if "members" in raw else scenarios.SCENARIO_KEYS)
        assert raw.get("description"), f"{path.name} says what it plays"
    assert {"clean", "showcase", "large"} <= set(scenarios.scenario_names())
    assert scenarios.load_scenario("large").size >= 1000
