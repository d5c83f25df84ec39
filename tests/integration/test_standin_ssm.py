"""The SSM stand-in (local/standin/ssm.py) over moto: Run Command invocations, instance information
and maintenance-window executions, in-process under mock_aws and through ThreadedMotoServer.

What is asserted as AWS behaviour comes from the botocore service model, the facts file
(the project's reference of AWS SSM facts, sections 1-3 and 7) or the amazon-ssm-agent source
(Output truncation). Choices the stand-in marks UNVERIFIED are only checked for consistency.
Every response body of the operations the stand-in serves is checked on the wire against the
operation's botocore output shape (test_every_response_matches_the_botocore_output_shape).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError
from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ssm.responses import SimpleSystemManagerResponse

from local import fleet_sim
from local.agent_logs import PATCH, Host, TaskContext, outcome
from local.standin import ssm as standin
from local.standin.ssm import PluginResult
from tests.support.stack import MOTO_MODES, moto_endpoint

REGION = "eu-west-2"
ACCOUNT = DEFAULT_ACCOUNT_ID
UNKNOWN_ID = "00000000-1111-2222-3333-444444444444"  # well-formed, never issued
# Images of moto's default AMI list: Amazon Linux, and Windows Server (Platform "windows")
LINUX_AMI = "ami-760aaa0f"
WINDOWS_AMI = "ami-12c6146b"
ERROR_TITLE = "\n----------ERROR-------\n"
OUTPUT_TRUNCATED = "\n---Output truncated---"
ERROR_TRUNCATED = "\n---Error truncated----"

# The operations whose bodies the stand-in writes itself.
SERVED_OPERATIONS = frozenset(
    {
        "ListCommandInvocations",
        "DescribeInstanceInformation",
        "DescribeMaintenanceWindowExecutions",
        "GetMaintenanceWindowExecution",
        "DescribeMaintenanceWindowExecutionTasks",
        "GetMaintenanceWindowExecutionTask",
        "DescribeMaintenanceWindowExecutionTaskInvocations",
        "ListCommands",
        "GetCommandInvocation",
        "DescribeInstancePatchStates",
    }
)


# --- a recursive validator over botocore shapes ------------------------------------------------


def shape_errors(value: Any, shape: Shape, path: str = "$") -> list[str]:
    """Differences between a JSON 1.1 response body and a botocore shape: unknown or missing
    required members, and wrong types (timestamps travel as epoch seconds). Length constraints
    are not checked: AWS itself answers "" for members with a minimum length."""
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__} where structure {shape.name} belongs"]
        errors = [f"{path}.{key}: not a member of {shape.name}" for key in value if key not in shape.members]
        errors += [f"{path}.{key}: required, missing" for key in shape.required_members if key not in value]
        for key, item in value.items():
            if key in shape.members:
                errors += shape_errors(item, shape.members[key], f"{path}.{key}")
        return errors
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__} where list {shape.name} belongs"]
        return [e for i, item in enumerate(value) for e in shape_errors(item, shape.member, f"{path}[{i}]")]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__} where map {shape.name} belongs"]
        errors = [f"{path}: key {key!r} is not a string" for key in value if not isinstance(key, str)]
        return errors + [e for k, v in value.items() for e in shape_errors(v, shape.value, f"{path}[{k!r}]")]
    expected = {
        "string": (str,),
        "blob": (str,),
        "boolean": (bool,),
        "integer": (int,),
        "long": (int,),
        "float": (int, float),
        "double": (int, float),
        "timestamp": (int, float),
    }.get(kind)
    if expected is None:
        return [f"{path}: the validator does not know type {kind}"]
    if not isinstance(value, expected) or (kind != "boolean" and isinstance(value, bool)):
        return [f"{path}: {type(value).__name__} {value!r} where {kind} {shape.name} belongs"]
    if isinstance(shape, StringShape) and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} is not one of {shape.enum}"]
    return []


# --- fixtures ----------------------------------------------------------------------------------


@dataclass
class Aws:
    ssm: Any
    ec2: Any
    wire: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (operation, JSON body)

    def output_shape(self, operation: str) -> StructureShape:
        shape = self.ssm.meta.service_model.operation_model(operation).output_shape
        assert isinstance(shape, StructureShape)
        return shape


def _clients(endpoint_url: str | None) -> Aws:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    aws = Aws(
        ssm=session.client("ssm", endpoint_url=endpoint_url),
        ec2=session.client("ec2", endpoint_url=endpoint_url),
    )

    def keep_body(http_response: Any, model: Any, **_: Any) -> None:
        if http_response.status_code == 200:
            aws.wire.append((model.name, json.loads(http_response.content or b"{}")))

    aws.ssm.meta.events.register("after-call.ssm", keep_body)
    return aws


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_EC2"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def ssm_standin() -> Iterator[None]:
    standin.install()
    yield
    standin.reset()
    standin.uninstall()


@pytest.fixture
def aws(aws_environment: None, ssm_standin: None) -> Iterator[Aws]:
    """moto in-process (mock_aws)."""
    with mock_aws():
        yield _clients(None)


@pytest.fixture(params=MOTO_MODES)
def any_aws(request: pytest.FixtureRequest, aws_environment: None, ssm_standin: None) -> Iterator[Aws]:
    """moto in-process, then moto's ThreadedMotoServer (same process) on an ephemeral port."""
    with moto_endpoint(request.param) as url:
        yield _clients(url)


# --- scenario helpers ----------------------------------------------------------------------------


def launch_fleet(ec2: Any, *, linux: int, windows: int) -> dict[str, str]:
    """EC2 instances, each with its own Name tag; returns instance id -> Name."""
    ids: list[str] = []
    for count, is_windows in ((linux, False), (windows, True)):
        if count:
            image = WINDOWS_AMI if is_windows else LINUX_AMI
            instances = ec2.run_instances(ImageId=image, MinCount=count, MaxCount=count)["Instances"]
            assert {i.get("Platform") for i in instances} == ({"windows"} if is_windows else {None})
            ids += [i["InstanceId"] for i in instances]
    names = {iid: f"host-{n:03d}" for n, iid in enumerate(ids)}
    for iid, name in names.items():
        ec2.create_tags(Resources=[iid], Tags=[{"Key": "Name", "Value": name}])
    return names


def send(ssm: Any, instance_ids: list[str], **extra: Any) -> str:
    command = ssm.send_command(
        InstanceIds=instance_ids,
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["dnf -y upgrade"]},
        Comment="patch",
        **extra,
    )["Command"]
    return str(command["CommandId"])


LONG_STDOUT = "".join(f"line {n:05d} of the upgrade\n" for n in range(150))  # 4,050 characters
SHORT_STDERR = "Error: another process has acquired yum lock"


def record_mixed_results(command_id: str, instance_ids: list[str]) -> dict[str, str]:
    """Every 10th instance Failed (long output), every 10th+1 Execution Timed Out, every 10th+2
    Delivery Timed Out (no plugin ran); the rest keep moto's default Success.
    Returns instance id -> status."""
    start = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    failed = PluginResult(
        "aws:runShellScript",
        "Failed",
        "Failed",
        1,
        LONG_STDOUT,
        SHORT_STDERR,
        start,
        start + timedelta(minutes=2),
    )
    timed_out = PluginResult(
        "aws:runShellScript", "TimedOut", "Execution Timed Out", -1, "half way", "", start
    )
    outcomes: dict[int, tuple[str, str, list[PluginResult]]] = {
        0: ("Failed", "Failed", [failed]),
        1: ("TimedOut", "Execution Timed Out", [timed_out]),
        2: ("TimedOut", "Delivery Timed Out", []),
    }
    statuses = {}
    for n, iid in enumerate(sorted(instance_ids)):
        status, details, plugins = outcomes.get(n % 10, ("Success", "Success", []))
        if n % 10 in outcomes:
            standin.record_invocation(
                ACCOUNT, REGION, command_id, iid, status=status, status_details=details, plugins=plugins
            )
        statuses[iid] = status
    return statuses


def all_invocations(ssm: Any, **params: Any) -> list[list[dict[str, Any]]]:
    pages = ssm.get_paginator("list_command_invocations").paginate(**params)
    return [page["CommandInvocations"] for page in pages]


# --- ListCommandInvocations -----------------------------------------------------------------------


def test_paginator_walks_120_invocations_in_pages_of_at_most_50(any_aws: Aws) -> None:
    # Given a command sent to 120 named EC2 instances (20 Windows) with mixed results
    names = launch_fleet(any_aws.ec2, linux=100, windows=20)
    command_id = send(any_aws.ssm, list(names))
    statuses = record_mixed_results(command_id, list(names))

    # When the boto3 paginator walks ListCommandInvocations
    pages = all_invocations(any_aws.ssm, CommandId=command_id)

    # Then 3 pages of at most 50 hold every instance once, with its Name tag and status
    assert [len(page) for page in pages] == [50, 50, 20]
    invocations = [inv for page in pages for inv in page]
    ids = [inv["InstanceId"] for inv in invocations]
    assert len(ids) == len(set(ids)) == 120
    assert set(ids) == set(names)
    assert {inv["InstanceId"]: inv["InstanceName"] for inv in invocations} == names
    assert {inv["InstanceId"]: inv["Status"] for inv in invocations} == statuses
    assert Counter(inv["StatusDetails"] for inv in invocations) == Counter(
        {"Success": 84, "Failed": 12, "Execution Timed Out": 12, "Delivery Timed Out": 12}
    )
    first = invocations[0]
    assert first["CommandId"] == command_id
    assert first["DocumentName"] == "AWS-RunShellScript"
    assert first["Comment"] == "patch"
    assert isinstance(first["RequestedDateTime"], datetime)
    assert first["RequestedDateTime"].tzinfo is not None


def test_explicit_page_size_and_a_small_page(aws: Aws) -> None:
    names = launch_fleet(aws.ec2, linux=12, windows=0)
    command_id = send(aws.ssm, list(names))

    pages = all_invocations(aws.ssm, CommandId=command_id, PaginationConfig={"PageSize": 5})

    assert [len(page) for page in pages] == [5, 5, 2]
    assert sorted(inv["InstanceId"] for page in pages for inv in page) == sorted(names)


def test_a_command_to_1000_instances_takes_20_pages(aws: Aws) -> None:
    # Given 1,000 instance ids (moto's send_command accepts ids without EC2 instances; real
    # SendCommand takes at most 50 InstanceIds and would use Targets)
    instance_ids = [f"i-{n:017x}" for n in range(1000)]
    command_id = send(aws.ssm, instance_ids)

    pages = all_invocations(aws.ssm, CommandId=command_id)

    assert len(pages) == 20
    assert all(len(page) == 50 for page in pages)
    assert len({inv["InstanceId"] for page in pages for inv in page}) == 1000


def test_without_details_no_plugins_with_details_every_plugin_field(aws: Aws) -> None:
    names = launch_fleet(aws.ec2, linux=10, windows=0)
    command_id = send(aws.ssm, list(names), OutputS3BucketName="hygiene-logs", OutputS3KeyPrefix="ssm_output")
    record_mixed_results(command_id, list(names))

    plain = aws.ssm.list_command_invocations(CommandId=command_id)["CommandInvocations"]
    detailed = aws.ssm.list_command_invocations(CommandId=command_id, Details=True)["CommandInvocations"]

    assert all(inv["CommandPlugins"] == [] for inv in plain)
    by_status = {inv["StatusDetails"]: inv for inv in detailed}
    failed = by_status["Failed"]["CommandPlugins"]
    assert len(failed) == 1
    plugin = failed[0]
    assert plugin["Name"] == "aws:runShellScript"
    assert plugin["Status"] == "Failed"
    assert plugin["StatusDetails"] == "Failed"
    assert plugin["ResponseCode"] == 1
    assert plugin["ResponseStartDateTime"] == datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    assert plugin["ResponseFinishDateTime"] == datetime(2026, 1, 5, 3, 2, tzinfo=UTC)
    assert plugin["OutputS3BucketName"] == "hygiene-logs"
    assert plugin["OutputS3KeyPrefix"] == "ssm_output"
    assert plugin["OutputS3Region"] == REGION
    assert plugin["StandardOutputUrl"]  # format UNVERIFIED: not parsed
    # A Delivery Timed Out invocation recorded without plugins, an unrecorded one keeps moto's
    assert by_status["Delivery Timed Out"]["CommandPlugins"] == []
    success = by_status["Success"]["CommandPlugins"]
    assert [(p["Name"], p["Status"], p["ResponseCode"], p["Output"]) for p in success] == [
        ("aws:runShellScript", "Success", 0, "")
    ]


def test_plugin_output_is_cut_to_2500_characters_with_the_error_separator(aws: Aws) -> None:
    names = launch_fleet(aws.ec2, linux=1, windows=0)
    [instance_id] = names
    command_id = send(aws.ssm, [instance_id])
    stderr = "E: " + "x" * 200
    plugin = PluginResult("aws:runShellScript", "Failed", "Failed", 1, LONG_STDOUT, stderr)
    standin.record_invocation(
        ACCOUNT, REGION, command_id, instance_id, status="Failed", status_details="Failed", plugins=[plugin]
    )

    [invocation] = aws.ssm.list_command_invocations(CommandId=command_id, Details=True)["CommandInvocations"]
    output = invocation["CommandPlugins"][0]["Output"]

    assert len(output) == 2500
    head, separator, tail = output.partition(ERROR_TITLE)
    assert separator == ERROR_TITLE
    assert head.endswith(OUTPUT_TRUNCATED)
    assert LONG_STDOUT.startswith(head.removesuffix(OUTPUT_TRUNCATED))
    assert tail == stderr  # the short stream is kept whole
    # The full streams stay available where AWS keeps them (GetCommandInvocation: 24,000 / 8,000)
    full = aws.ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
    assert full["StandardOutputContent"] == LONG_STDOUT
    assert full["StandardErrorContent"] == stderr


@pytest.mark.parametrize(
    ("stdout", "stderr", "expected"),
    [
        ("ok", "", "ok"),
        ("out", "err", f"out{ERROR_TITLE}err"),
        ("", "err", f"{ERROR_TITLE}err"),
        ("a" * 2476, "", "a" * 2476 + ""),
    ],
)
def test_short_output_is_kept_whole(stdout: str, stderr: str, expected: str) -> None:
    assert standin.truncate_plugin_output(stdout, stderr) == expected


def test_output_truncation_follows_the_agent() -> None:
    # Given the agent's TruncateOutput (capacity 2,500, ERROR title only with stderr)
    available = 2500 - len(ERROR_TITLE)
    # Fits only while strictly below the available space
    assert (
        standin.truncate_plugin_output("a" * (available - 4), "b" * 3)
        == "a" * (available - 4) + ERROR_TITLE + "bbb"
    )
    assert standin.truncate_plugin_output("a" * (available - 3), "b" * 3).endswith(
        OUTPUT_TRUNCATED + ERROR_TITLE + "bbb"
    )
    # Long stdout, no stderr: stdout cut, no ERROR title
    only_out = standin.truncate_plugin_output("a" * 5000, "")
    assert only_out == "a" * (2500 - len(OUTPUT_TRUNCATED)) + OUTPUT_TRUNCATED
    # Short stdout, long stderr: stderr cut
    short_out = standin.truncate_plugin_output("out", "e" * 9000)
    assert short_out.startswith("out" + ERROR_TITLE)
    assert short_out.endswith(ERROR_TRUNCATED)
    assert len(short_out) == 2500
    # Both long: both cut to equal halves
    both = standin.truncate_plugin_output("o" * 9000, "e" * 9000)
    head, _, tail = both.partition(ERROR_TITLE)
    assert head.endswith(OUTPUT_TRUNCATED)
    assert tail.endswith(ERROR_TRUNCATED)
    assert len(head) - len(OUTPUT_TRUNCATED) == len(tail) - len(ERROR_TRUNCATED)
    assert len(both) <= 2500


def test_unknown_command_id_is_invalid_command_id(aws: Aws) -> None:
    with pytest.raises(ClientError) as caught:
        aws.ssm.list_command_invocations(CommandId=UNKNOWN_ID)
    assert caught.value.response["Error"]["Code"] == "InvalidCommandId"


def test_bad_next_token_and_max_results_are_rejected(aws: Aws) -> None:
    names = launch_fleet(aws.ec2, linux=6, windows=0)
    first = send(aws.ssm, list(names))
    second = send(aws.ssm, list(names))
    token = aws.ssm.list_command_invocations(CommandId=first, MaxResults=5)["NextToken"]

    for bad in ("garbage", token[:-4]):
        with pytest.raises(ClientError) as caught:
            aws.ssm.list_command_invocations(CommandId=first, NextToken=bad)
        assert caught.value.response["Error"]["Code"] == "InvalidNextToken"
    with pytest.raises(ClientError) as caught:  # a token of another query
        aws.ssm.list_command_invocations(CommandId=second, NextToken=token)
    assert caught.value.response["Error"]["Code"] == "InvalidNextToken"
    with pytest.raises(ClientError) as caught:  # botocore checks only the minimum
        aws.ssm.list_command_invocations(CommandId=first, MaxResults=51)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_instance_and_filters_narrow_the_invocations(aws: Aws) -> None:
    names = launch_fleet(aws.ec2, linux=20, windows=0)
    ids = sorted(names)
    older = send(aws.ssm, ids)
    newer = send(aws.ssm, ids[:5])
    statuses = record_mixed_results(older, ids)

    one = aws.ssm.list_command_invocations(InstanceId=ids[0])["CommandInvocations"]
    failed = aws.ssm.list_command_invocations(
        CommandId=older, Filters=[{"key": "Status", "value": "Failed"}]
    )["CommandInvocations"]
    everything = [inv for page in all_invocations(aws.ssm) for inv in page]

    assert [inv["CommandId"] for inv in one] == [newer, older]  # newest command first
    assert {inv["InstanceId"] for inv in failed} == {iid for iid, s in statuses.items() if s == "Failed"}
    assert len(everything) == 25
    with pytest.raises(ClientError) as caught:
        aws.ssm.list_command_invocations(Filters=[{"key": "Colour", "value": "red"}])
    assert caught.value.response["Error"]["Code"] == "InvalidFilterKey"


# --- ListCommands, SendCommand, GetCommandInvocation -----------------------------------------------


def test_list_commands_counts_come_from_the_recorded_results(aws: Aws) -> None:
    names = launch_fleet(aws.ec2, linux=30, windows=0)
    ids = sorted(names)
    mixed = send(aws.ssm, ids)
    record_mixed_results(mixed, ids)
    clean = send(aws.ssm, ids[:4])
    running = send(aws.ssm, ids[:3])
    standin.record_invocation(
        ACCOUNT,
        REGION,
        running,
        ids[0],
        status="InProgress",
        status_details="InProgress",
        plugins=[PluginResult("aws:runShellScript", "InProgress", "InProgress", -1)],
    )

    commands = {c["CommandId"]: c for c in aws.ssm.list_commands()["Commands"]}

    counts = (
        "TargetCount",
        "CompletedCount",
        "ErrorCount",
        "DeliveryTimedOutCount",
        "Status",
        "StatusDetails",
    )
    assert [commands[mixed][k] for k in counts] == [30, 30, 6, 3, "Failed", "Failed"]  # MaxErrors "0"
    assert [commands[clean][k] for k in counts] == [4, 4, 0, 0, "Success", "Success"]
    assert [commands[running][k] for k in counts][:5] == [3, 2, 0, 0, "InProgress"]
    assert commands[mixed]["DocumentVersion"] == "$DEFAULT"
    assert isinstance(commands[mixed]["RequestedDateTime"], datetime)


def test_errors_within_max_errors_leave_the_command_incomplete(aws: Aws) -> None:
    names = launch_fleet(aws.ec2, linux=10, windows=0)
    ids = sorted(names)
    command_id = send(aws.ssm, ids, MaxErrors="50%")
    standin.record_invocation(
        ACCOUNT,
        REGION,
        command_id,
        ids[0],
        status="Failed",
        status_details="Failed",
        plugins=[PluginResult("aws:runShellScript", "Failed", "Failed", 1, "", "boom")],
    )

    [command] = aws.ssm.list_commands(CommandId=command_id)["Commands"]

    assert command["ErrorCount"] == 1
    assert command["StatusDetails"] == "Incomplete"  # Status for Incomplete: UNVERIFIED


def test_status_rules_decide_what_aws_leaves_open(aws: Aws) -> None:
    # Given a command failing on 1 of 10 under MaxErrors 50%, and one 2 of 10 never reached (MaxErrors 0)
    ids = sorted(launch_fleet(aws.ec2, linux=10, windows=0))
    within = send(aws.ssm, ids, MaxErrors="50%")
    standin.record_invocation(
        ACCOUNT,
        REGION,
        within,
        ids[0],
        status="Failed",
        status_details="Failed",
        plugins=[PluginResult("aws:runShellScript", "Failed", "Failed", 1, "", "boom")],
    )
    unreachable = send(aws.ssm, ids)
    for iid in ids[1:3]:
        standin.record_invocation(
            ACCOUNT,
            REGION,
            unreachable,
            iid,
            status="TimedOut",
            status_details="Delivery Timed Out",
            plugins=[],
        )

    def status(command_id: str) -> tuple[str, str, int, int]:
        [command] = aws.ssm.list_commands(CommandId=command_id)["Commands"]
        return (
            command["Status"],
            command["StatusDetails"],
            command["ErrorCount"],
            command["DeliveryTimedOutCount"],
        )

    # Then by default (UNVERIFIED either way): Incomplete is Failed, delivery timeouts count
    assert status(within) == ("Failed", "Incomplete", 1, 0)
    assert status(unreachable) == ("TimedOut", "Delivery Timed Out", 0, 2)
    # and a scenario can choose the other reading of the documentation
    standin.set_command_status_rules(
        ACCOUNT, REGION, incomplete_status="Success", delivery_timeouts_count=False
    )
    assert status(within) == ("Success", "Incomplete", 1, 0)
    assert status(unreachable) == ("Success", "Incomplete", 0, 2)
    succeeded = aws.ssm.list_commands(Filters=[{"key": "Status", "value": "Success"}])["Commands"]
    assert {within, unreachable} <= {c["CommandId"] for c in succeeded}, "filters see the same status"
    standin.set_command_status_rules(ACCOUNT, REGION)
    assert status(within) == ("Failed", "Incomplete", 1, 0), "the defaults come back"
    with pytest.raises(ValueError, match="incomplete_status"):
        standin.set_command_status_rules(ACCOUNT, REGION, incomplete_status="Incomplete")
    listed = [body for operation, body in aws.wire if operation == "ListCommands"]
    assert listed
    assert [e for body in listed for e in shape_errors(body, aws.output_shape("ListCommands"))] == []


def test_send_command_targets_only_the_requested_instances(aws: Aws) -> None:
    # moto 5.2 alone puts every EC2 instance of the region in the command
    names = launch_fleet(aws.ec2, linux=5, windows=0)
    chosen = sorted(names)[:2]

    command = aws.ssm.send_command(
        InstanceIds=chosen, DocumentName="AWS-RunShellScript", DocumentVersion="1"
    )["Command"]
    invocations = aws.ssm.list_command_invocations(CommandId=command["CommandId"])["CommandInvocations"]

    assert sorted(command["InstanceIds"]) == chosen
    assert command["DocumentVersion"] == "1"
    assert sorted(inv["InstanceId"] for inv in invocations) == chosen
    assert {inv["DocumentVersion"] for inv in invocations} == {"1"}


def test_send_command_accepts_targets_keyed_instance_ids(aws: Aws) -> None:
    # moto 5.2 alone passes Targets to EC2 as filters and fails on the key InstanceIds
    names = launch_fleet(aws.ec2, linux=4, windows=0)
    chosen = sorted(names)[1:3]
    targets = [{"Key": "InstanceIds", "Values": chosen}]

    command = aws.ssm.send_command(Targets=targets, DocumentName="AWS-RunShellScript")["Command"]
    [listed] = aws.ssm.list_commands(CommandId=command["CommandId"])["Commands"]
    invocations = aws.ssm.list_command_invocations(CommandId=command["CommandId"])["CommandInvocations"]

    assert listed["Targets"] == targets
    assert listed["TargetCount"] == 2
    assert sorted(inv["InstanceId"] for inv in invocations) == chosen


def test_get_command_invocation_answers_the_recorded_step(aws: Aws) -> None:
    names = launch_fleet(aws.ec2, linux=2, windows=0)
    recorded, untouched = sorted(names)
    command_id = send(aws.ssm, [recorded, untouched])
    steps = [
        PluginResult(
            "PatchLinux", "Failed", "Failed", 1, "o" * 30000, "e" * 9000, action="aws:runShellScript"
        ),
        PluginResult("PatchWindows", "Success", "Success", 0, "skipped", action="aws:runPowerShellScript"),
    ]
    standin.record_invocation(
        ACCOUNT, REGION, command_id, recorded, status="Failed", status_details="Failed", plugins=steps
    )

    linux = aws.ssm.get_command_invocation(CommandId=command_id, InstanceId=recorded, PluginName="PatchLinux")
    default = aws.ssm.get_command_invocation(CommandId=command_id, InstanceId=untouched)

    assert linux["Status"] == "Failed"
    assert linux["ResponseCode"] == 1
    assert len(linux["StandardOutputContent"]) == 24000
    assert len(linux["StandardErrorContent"]) == 8000
    assert (default["Status"], default["PluginName"]) == ("Success", "aws:runShellScript")
    with pytest.raises(ClientError):  # two steps: PluginName required (error code UNVERIFIED)
        aws.ssm.get_command_invocation(CommandId=command_id, InstanceId=recorded)
    with pytest.raises(ClientError) as caught:
        aws.ssm.get_command_invocation(CommandId=command_id, InstanceId=recorded, PluginName="PatchMacOS")
    assert caught.value.response["Error"]["Code"] == "InvocationDoesNotExist"


# --- DescribeInstanceInformation ------------------------------------------------------------------


def all_instance_information(ssm: Any, **params: Any) -> list[list[dict[str, Any]]]:
    pages = ssm.get_paginator("describe_instance_information").paginate(**params)
    return [page["InstanceInformationList"] for page in pages]


def test_instance_information_lists_ec2_and_managed_nodes_with_filters(any_aws: Aws) -> None:
    # Given 6 Linux and 4 Windows EC2 instances, one of them stopped, and a hybrid node
    names = launch_fleet(any_aws.ec2, linux=6, windows=4)
    ids = list(names)
    windows = set(ids[6:])
    stopped = ids[0]
    any_aws.ec2.stop_instances(InstanceIds=[stopped])
    node_id = standin.register_managed_instance(
        ACCOUNT, REGION, name="on-prem-db", platform_type="Linux", tags={"Role": "db"}
    )

    pages = all_instance_information(any_aws.ssm, PaginationConfig={"PageSize": 5})
    listed = [info for page in pages for info in page]
    by_id = {info["InstanceId"]: info for info in listed}

    assert [len(page) for page in pages] == [5, 5, 1]
    assert len(by_id) == len(listed) == 11
    assert set(by_id) == set(ids) | {node_id}
    assert {i for i, info in by_id.items() if info["PlatformType"] == "Windows"} == windows
    assert by_id[stopped]["PingStatus"] == "ConnectionLost"
    assert by_id[ids[1]]["PingStatus"] == "Online"
    assert by_id[ids[1]]["ResourceType"] == "EC2Instance"
    assert by_id[ids[1]]["IPAddress"]
    assert by_id[ids[1]]["ComputerName"]
    node = by_id[node_id]
    assert node_id.startswith("mi-")
    assert (node["ResourceType"], node["Name"], node["PlatformType"]) == (
        "ManagedInstance",
        "on-prem-db",
        "Linux",
    )
    assert isinstance(node["RegistrationDate"], datetime)

    def ids_for(**params: Any) -> set[str]:
        return {
            info["InstanceId"] for page in all_instance_information(any_aws.ssm, **params) for info in page
        }

    assert ids_for(Filters=[{"Key": "PlatformTypes", "Values": ["Windows"]}]) == windows
    assert ids_for(Filters=[{"Key": "ResourceType", "Values": ["ManagedInstance"]}]) == {node_id}
    assert ids_for(Filters=[{"Key": "PingStatus", "Values": ["ConnectionLost"]}]) == {stopped}
    assert ids_for(Filters=[{"Key": "tag:Name", "Values": [names[ids[2]]]}]) == {ids[2]}
    assert ids_for(Filters=[{"Key": "tag:Role", "Values": ["db"]}]) == {node_id}
    assert ids_for(Filters=[{"Key": "InstanceIds", "Values": [ids[3], node_id]}]) == {ids[3], node_id}
    assert ids_for(InstanceInformationFilterList=[{"key": "InstanceIds", "valueSet": [ids[4]]}]) == {ids[4]}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Filters": [{"Key": "Colour", "Values": ["red"]}]}, "InvalidFilterKey"),
        (
            {"Filters": [{"Key": "PlatformTypes", "Values": ["Solaris"]}]},
            "InvalidInstanceInformationFilterValue",
        ),
        ({"MaxResults": 51}, "ValidationException"),
    ],
)
def test_instance_information_rejects_bad_filters(aws: Aws, params: dict[str, Any], code: str) -> None:
    launch_fleet(aws.ec2, linux=1, windows=0)

    with pytest.raises(ClientError) as caught:
        aws.ssm.describe_instance_information(**params)

    assert caught.value.response["Error"]["Code"] == code


def test_an_instance_can_be_left_out_or_go_offline(aws: Aws) -> None:
    names = launch_fleet(aws.ec2, linux=3, windows=0)
    hidden, offline, normal = sorted(names)
    standin.set_instance_information(ACCOUNT, REGION, hidden, managed=False)
    standin.set_instance_information(
        ACCOUNT, REGION, offline, ping_status="ConnectionLost", agent_version="3.2.582.0"
    )

    listed = {i["InstanceId"]: i for i in aws.ssm.describe_instance_information()["InstanceInformationList"]}

    assert set(listed) == {offline, normal}
    assert (listed[offline]["PingStatus"], listed[offline]["AgentVersion"]) == ("ConnectionLost", "3.2.582.0")


def test_an_ec2_mac_instance_reports_platform_type_macos(aws: Aws) -> None:
    mac, linux = sorted(launch_fleet(aws.ec2, linux=2, windows=0))
    standin.set_instance_information(
        ACCOUNT, REGION, mac, platform_type="MacOS", platform_name="macOS", platform_version="14.6.1"
    )

    listed = {i["InstanceId"]: i for i in aws.ssm.describe_instance_information()["InstanceInformationList"]}
    macs = aws.ssm.describe_instance_information(Filters=[{"Key": "PlatformTypes", "Values": ["MacOS"]}])

    assert [listed[mac][k] for k in ("PlatformType", "PlatformName", "PlatformVersion")] == [
        "MacOS",
        "macOS",
        "14.6.1",
    ]
    assert listed[linux]["PlatformType"] == "Linux"
    assert [i["InstanceId"] for i in macs["InstanceInformationList"]] == [mac]
    with pytest.raises(ValueError, match="platform_type"):
        standin.set_instance_information(ACCOUNT, REGION, mac, platform_type="Darwin")


# --- maintenance window executions ------------------------------------------------------------------


@dataclass(frozen=True)
class WindowRun:
    window_id: str
    window_target_id: str
    window_task_id: str
    execution_id: str
    task_execution_id: str
    invocation_id: str
    command_id: str
    instance_ids: list[str]


def run_failed_window(aws: Aws) -> WindowRun:
    """A window with one target and one RUN_COMMAND task, whose execution failed on one instance."""
    names = launch_fleet(aws.ec2, linux=2, windows=0)
    ids = sorted(names)
    window_id = aws.ssm.create_maintenance_window(
        Name="patch-linux",
        Schedule="cron(0 3 ? * SUN *)",
        Duration=3,
        Cutoff=1,
        AllowUnassociatedTargets=False,
    )["WindowId"]
    target_id = aws.ssm.register_target_with_maintenance_window(
        WindowId=window_id, ResourceType="INSTANCE", Targets=[{"Key": "InstanceIds", "Values": ids}]
    )["WindowTargetId"]
    task_id = aws.ssm.register_task_with_maintenance_window(
        WindowId=window_id,
        Targets=[{"Key": "WindowTargetIds", "Values": [target_id]}],
        TaskArn="AWS-RunPatchBaseline",
        TaskType="RUN_COMMAND",
        Priority=1,
        MaxConcurrency="2",
        MaxErrors="1",
        ServiceRoleArn="arn:aws:iam::123456789012:role/patch-window",
        TaskInvocationParameters={"RunCommand": {"Parameters": {"Operation": ["Install"]}}},
    )["WindowTaskId"]
    # What the window service does: send the command, then record what happened
    command_id = aws.ssm.send_command(
        InstanceIds=ids, DocumentName="AWS-RunPatchBaseline", Parameters={"Operation": ["Install"]}
    )["Command"]["CommandId"]
    patch = PluginResult(
        "PatchLinux", "Failed", "Failed", 1, "Installing", "[Errno 256] No more mirrors to try."
    )
    standin.record_invocation(
        ACCOUNT, REGION, command_id, ids[0], status="Failed", status_details="Failed", plugins=[patch]
    )
    start = datetime(2026, 1, 4, 3, 0, tzinfo=UTC)
    end = start + timedelta(minutes=20)
    execution_id = standin.record_window_execution(
        ACCOUNT,
        REGION,
        window_id,
        status="FAILED",
        status_details="One or more tasks failed.",
        start_time=start,
        end_time=end,
    )
    task_execution_id = standin.record_window_task(
        ACCOUNT, REGION, execution_id, window_task_id=task_id, status="FAILED", start_time=start, end_time=end
    )
    invocation_id = standin.record_window_task_invocation(
        ACCOUNT,
        REGION,
        execution_id,
        task_execution_id,
        execution_id=command_id,
        status="FAILED",
        status_details="Failed",
        start_time=start,
        end_time=end,
        owner_information="team-linux",
        window_target_id=target_id,
    )
    return WindowRun(
        window_id, target_id, task_id, execution_id, task_execution_id, invocation_id, command_id, ids
    )


def test_window_execution_leads_to_the_failed_command(any_aws: Aws) -> None:
    # Given a failed window execution recorded over moto's window, target and task
    run = run_failed_window(any_aws)
    ssm = any_aws.ssm

    # When a reader goes from the window execution to the command (facts file, section 1)
    [execution] = ssm.describe_maintenance_window_executions(WindowId=run.window_id)["WindowExecutions"]
    got = ssm.get_maintenance_window_execution(WindowExecutionId=run.execution_id)
    [task] = ssm.describe_maintenance_window_execution_tasks(WindowExecutionId=run.execution_id)[
        "WindowExecutionTaskIdentities"
    ]
    task_detail = ssm.get_maintenance_window_execution_task(
        WindowExecutionId=run.execution_id, TaskId=run.task_execution_id
    )
    [invocation] = ssm.describe_maintenance_window_execution_task_invocations(
        WindowExecutionId=run.execution_id, TaskId=run.task_execution_id
    )["WindowExecutionTaskInvocationIdentities"]
    failures = ssm.list_command_invocations(
        CommandId=invocation["ExecutionId"], Details=True, Filters=[{"key": "Status", "value": "Failed"}]
    )["CommandInvocations"]

    # Then every read agrees, and the invocation's ExecutionId is the command id
    assert (execution["WindowExecutionId"], execution["Status"]) == (run.execution_id, "FAILED")
    assert execution["StartTime"] == datetime(2026, 1, 4, 3, 0, tzinfo=UTC)
    assert execution["EndTime"] == datetime(2026, 1, 4, 3, 20, tzinfo=UTC)
    assert got["TaskIds"] == [run.task_execution_id]
    assert got["StatusDetails"] == "One or more tasks failed."
    assert (task["TaskArn"], task["TaskType"], task["Status"]) == (
        "AWS-RunPatchBaseline",
        "RUN_COMMAND",
        "FAILED",
    )
    assert task_detail["Priority"] == 1
    assert (task_detail["MaxConcurrency"], task_detail["MaxErrors"]) == ("2", "1")
    assert task_detail["ServiceRole"] == "arn:aws:iam::123456789012:role/patch-window"
    assert task_detail["TaskParameters"] == [{"Operation": {"Values": ["Install"]}}]
    assert invocation["ExecutionId"] == run.command_id
    assert invocation["InvocationId"] == run.invocation_id
    assert invocation["WindowTargetId"] == run.window_target_id
    assert invocation["OwnerInformation"] == "team-linux"
    assert json.loads(invocation["Parameters"])["documentName"] == "AWS-RunPatchBaseline"
    assert [f["InstanceId"] for f in failures] == [run.instance_ids[0]]
    assert "No more mirrors" in failures[0]["CommandPlugins"][0]["Output"]


def test_window_executions_page_newest_first(aws: Aws) -> None:
    window_id = aws.ssm.create_maintenance_window(
        Name="nightly", Schedule="rate(1 day)", Duration=2, Cutoff=0, AllowUnassociatedTargets=True
    )["WindowId"]
    first = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    recorded = [
        standin.record_window_execution(
            ACCOUNT, REGION, window_id, status="SUCCESS", start_time=first + timedelta(days=n)
        )
        for n in range(25)
    ]

    pages = [
        page["WindowExecutions"]
        for page in aws.ssm.get_paginator("describe_maintenance_window_executions").paginate(
            WindowId=window_id, PaginationConfig={"PageSize": 10}
        )
    ]
    after = aws.ssm.describe_maintenance_window_executions(
        WindowId=window_id, Filters=[{"Key": "ExecutedAfter", "Values": ["2026-01-20T00:00:00Z"]}]
    )["WindowExecutions"]

    assert [len(page) for page in pages] == [10, 10, 5]
    assert [e["WindowExecutionId"] for page in pages for e in page] == recorded[::-1]
    assert len(after) == 6


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("get_maintenance_window_execution", {"WindowExecutionId": UNKNOWN_ID}),
        ("describe_maintenance_window_execution_tasks", {"WindowExecutionId": UNKNOWN_ID}),
        ("get_maintenance_window_execution_task", {"WindowExecutionId": UNKNOWN_ID, "TaskId": UNKNOWN_ID}),
        (
            "describe_maintenance_window_execution_task_invocations",
            {"WindowExecutionId": UNKNOWN_ID, "TaskId": UNKNOWN_ID},
        ),
    ],
)
def test_window_reads_of_unknown_executions_do_not_exist(
    aws: Aws, operation: str, params: dict[str, str]
) -> None:
    with pytest.raises(ClientError) as caught:
        getattr(aws.ssm, operation)(**params)

    assert caught.value.response["Error"]["Code"] == "DoesNotExistException"


def test_window_records_update_in_place(aws: Aws) -> None:
    run = run_failed_window(aws)
    standin.record_window_execution(
        ACCOUNT, REGION, run.window_id, status="IN_PROGRESS", window_execution_id=run.execution_id
    )

    got = aws.ssm.get_maintenance_window_execution(WindowExecutionId=run.execution_id)
    only_failed = aws.ssm.describe_maintenance_window_execution_tasks(
        WindowExecutionId=run.execution_id, Filters=[{"Key": "Status", "Values": ["SUCCESS"]}]
    )["WindowExecutionTaskIdentities"]

    assert got["Status"] == "IN_PROGRESS"
    assert got["TaskIds"] == [run.task_execution_id]  # tasks kept
    assert got["StartTime"] == datetime(2026, 1, 4, 3, 0, tzinfo=UTC)
    assert only_failed == []


# --- the Python API -----------------------------------------------------------------------------


def test_recording_rejects_what_moto_does_not_know(aws: Aws) -> None:
    names = launch_fleet(aws.ec2, linux=2, windows=0)
    one, other = sorted(names)
    command_id = send(aws.ssm, [one])
    ok = PluginResult("aws:runShellScript", "Success", "Success", 0)

    with pytest.raises(ValueError, match="no command"):
        standin.record_invocation(
            ACCOUNT,
            REGION,
            UNKNOWN_ID,
            one,
            status="Success",
            status_details="Success",
            plugins=[ok],
        )
    with pytest.raises(ValueError, match="was not sent to"):
        standin.record_invocation(
            ACCOUNT, REGION, command_id, other, status="Success", status_details="Success", plugins=[ok]
        )
    with pytest.raises(ValueError, match="invocation status"):
        standin.record_invocation(
            ACCOUNT, REGION, command_id, one, status="Done", status_details="Done", plugins=[ok]
        )
    with pytest.raises(ValueError, match="no maintenance window"):
        standin.record_window_execution(ACCOUNT, REGION, "mw-0123456789abcdef0", status="SUCCESS")
    with pytest.raises(ValueError, match="managed instance id"):
        standin.register_managed_instance(ACCOUNT, REGION, "i-0123456789abcdef0", name="x")


def test_reset_forgets_records_and_moto_keeps_its_commands(aws: Aws) -> None:
    names = launch_fleet(aws.ec2, linux=1, windows=0)
    [instance_id] = names
    command_id = send(aws.ssm, [instance_id])
    standin.record_invocation(
        ACCOUNT,
        REGION,
        command_id,
        instance_id,
        status="Failed",
        status_details="Failed",
        plugins=[PluginResult("aws:runShellScript", "Failed", "Failed", 1)],
    )
    node_id = standin.register_managed_instance(ACCOUNT, REGION, name="edge")

    standin.reset()

    [invocation] = aws.ssm.list_command_invocations(CommandId=command_id)["CommandInvocations"]
    listed = {i["InstanceId"] for i in aws.ssm.describe_instance_information()["InstanceInformationList"]}
    assert invocation["Status"] == "Success"
    assert node_id not in listed
    assert instance_id in listed


def test_install_is_idempotent_and_uninstall_gives_moto_back(aws: Aws) -> None:
    standin.install()
    assert standin.installed()
    assert "list_command_invocations" in vars(SimpleSystemManagerResponse)

    standin.uninstall()
    try:
        assert "list_command_invocations" not in vars(SimpleSystemManagerResponse)
        assert not standin.installed()
    finally:
        standin.install()
    names = launch_fleet(aws.ec2, linux=1, windows=0)
    assert (
        len(aws.ssm.list_command_invocations(CommandId=send(aws.ssm, list(names)))["CommandInvocations"]) == 1
    )


# --- shapes ---------------------------------------------------------------------------------------


# --- patch states (DescribeInstancePatchStates) -------------------------------------------------

BASELINE = (
    "pb-0713accee01234567"  # the AWS CLI's example (awscli/examples/ssm/describe-instance-patch-states.rst)
)


def record_patch_states(instance_ids: list[str], *, start: datetime) -> None:
    """Every instance patched: the first with one patch missing and two failed, the rest clean."""
    for n, instance_id in enumerate(instance_ids):
        standin.record_patch_state(
            ACCOUNT,
            REGION,
            instance_id,
            operation="Install",
            patch_group="my-patch-group",
            baseline_id=BASELINE,
            operation_start=start,
            operation_end=start + timedelta(minutes=3),
            installed=123,
            missing=1 if n == 0 else 0,
            failed=2 if n == 0 else 0,
            critical_non_compliant=2 if n == 0 else 0,
            reboot_option="RebootIfNeeded",
        )


def all_patch_states(ssm: Any, instance_ids: list[str], **config: Any) -> list[list[dict[str, Any]]]:
    pages = ssm.get_paginator("describe_instance_patch_states").paginate(
        InstanceIds=instance_ids, PaginationConfig=config
    )
    return [page["InstancePatchStates"] for page in pages]


def test_patch_states_answer_the_recorded_instances_in_pages(any_aws: Aws) -> None:
    # Given 30 instances with a recorded patch state and 5 ids without one
    names = launch_fleet(any_aws.ec2, linux=30, windows=0)
    ids = sorted(names)
    start = datetime(2026, 12, 3, 4, 30, tzinfo=UTC)
    record_patch_states(ids, start=start)
    unknown = [f"i-0000000000000{n:04d}" for n in range(5)]

    # When all 35 are asked for, 12 a page (the model's MaxResults is 10 to 100)
    pages = all_patch_states(any_aws.ssm, [*ids, *unknown], PageSize=12)

    # Then each recorded one is answered once, the others are left out
    assert [len(page) for page in pages] == [12, 12, 6]
    states = {s["InstanceId"]: s for page in pages for s in page}
    assert sorted(states) == ids
    first = states[ids[0]]
    assert (first["MissingCount"], first["FailedCount"], first["CriticalNonCompliantCount"]) == (1, 2, 2)
    assert (first["Operation"], first["BaselineId"], first["PatchGroup"]) == (
        "Install",
        BASELINE,
        "my-patch-group",
    )
    assert first["OperationEndTime"] == start + timedelta(minutes=3)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"InstanceIds": [f"i-{n:017x}" for n in range(51)]}, "less than or equal to 50"),
        ({"InstanceIds": ["web-01"]}, "regular expression pattern"),
        ({"InstanceIds": ["i-00000000000000001"], "MaxResults": 9}, "greater than or equal to 10"),
        ({"InstanceIds": ["i-00000000000000001"], "MaxResults": 101}, "less than or equal to 100"),
    ],
)
def test_patch_states_reject_what_the_model_forbids(aws: Aws, params: dict[str, Any], message: str) -> None:
    # botocore validates the request on the client side too: turned off here to reach the stand-in.
    ssm = boto3.Session(region_name=REGION).client(
        "ssm", config=botocore.config.Config(parameter_validation=False)
    )

    with pytest.raises(ClientError, match=message) as raised:
        ssm.describe_instance_patch_states(**params)

    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_recording_a_patch_state_rejects_values_the_model_does_not_allow(aws: Aws) -> None:
    good: dict[str, Any] = {
        "operation": "Scan",
        "patch_group": "prod",
        "baseline_id": BASELINE,
        "operation_start": datetime(2026, 1, 1, tzinfo=UTC),
        "operation_end": datetime(2026, 1, 1, 0, 5, tzinfo=UTC),
    }
    for bad, match in (
        ({"operation": "Patch"}, "operation"),
        ({"baseline_id": "pb-1"}, "pattern"),
        ({"patch_group": ""}, "patch_group"),
        ({"reboot_option": "Always"}, "reboot_option"),
        ({"missing": -1}, "not negative"),
    ):
        with pytest.raises(ValueError, match=match):
            standin.record_patch_state(ACCOUNT, REGION, "i-00000000000000001", **{**good, **bad})
    with pytest.raises(ValueError, match="not an instance id"):
        standin.record_patch_state(ACCOUNT, REGION, "web-01", **good)


def test_a_simulated_patch_run_leaves_the_counts_its_summary_printed(aws: Aws) -> None:
    # Given AWS-RunPatchBaseline played on three instances with local.agent_logs' outputs: one
    # success, one that failed two packages and asks for a reboot (exit 195), one stuck on yum's
    # lock, which fails before its summary
    names = launch_fleet(aws.ec2, linux=3, windows=0)
    ids = sorted(names)
    started = datetime(2026, 12, 3, 4, 30, tzinfo=UTC)
    context = TaskContext(task=PATCH, command_id="04c05e50-6616-4799-a6a6-0f531ca674ce", started=started)
    kinds = dict(zip(ids, ("success", "reboot-with-failures", "yum-lock"), strict=True))
    outcomes = {
        iid: outcome(kind, Host.of(n, iid, names[iid], "linux", seed=0, region=REGION), context)
        for n, (iid, kind) in enumerate(kinds.items())
    }
    s3 = boto3.client("s3", region_name=REGION)

    # When the fleet simulator plays the command
    fleet_sim.play_command(
        ssm=aws.ssm,
        s3=s3,
        region=REGION,
        document_name="AWS-RunPatchBaseline",
        outcomes=outcomes,
        bucket=None,
    )

    # Then DescribeInstancePatchStates answers the two that printed a summary, with its counts
    (page,) = all_patch_states(aws.ssm, ids)
    states = {s["InstanceId"]: s for s in page}
    assert sorted(states) == ids[:2]
    clean, broken = states[ids[0]], states[ids[1]]
    assert (clean["MissingCount"], clean["FailedCount"], clean["InstalledPendingRebootCount"]) == (0, 0, 0)
    assert (broken["FailedCount"], broken["Operation"], broken["PatchGroup"]) == (2, "Install", "prod")
    assert broken["InstalledPendingRebootCount"] > 0
    assert broken["BaselineId"] == context.linux_baseline_id
    assert clean["InstalledCount"] >= 300, "the summary's InstalledCount"


def test_the_validator_catches_drift(aws: Aws) -> None:
    invocations = aws.output_shape("ListCommandInvocations")
    tasks = aws.output_shape("DescribeMaintenanceWindowExecutionTasks")
    good = {"CommandInvocations": [{"CommandId": "c", "RequestedDateTime": 1.5, "CommandPlugins": []}]}

    assert shape_errors(good, invocations) == []
    assert shape_errors({"CommandInvocations": [{"Comand": "c"}]}, invocations)  # unknown member
    assert shape_errors({"CommandInvocations": [{"RequestedDateTime": "2026-01-01"}]}, invocations)
    assert shape_errors({"CommandInvocations": [{"Status": "Done"}]}, invocations)  # enum
    assert shape_errors({"CommandInvocations": [{"CommandPlugins": [{"ResponseCode": "1"}]}]}, invocations)
    assert shape_errors({"CommandInvocations": {}}, invocations)
    assert shape_errors({"WindowExecutionTaskIdentities": [{"AlarmConfiguration": {}}]}, tasks)  # required


def test_every_response_matches_the_botocore_output_shape(any_aws: Aws) -> None:
    # Given every operation the stand-in serves, called with and without its options
    run = run_failed_window(any_aws)
    names = launch_fleet(any_aws.ec2, linux=8, windows=4)
    command_id = send(any_aws.ssm, list(names), OutputS3BucketName="hygiene-logs", OutputS3KeyPrefix="out")
    record_mixed_results(command_id, list(names))
    standin.register_managed_instance(ACCOUNT, REGION, name="edge-1", platform_type="Windows")
    ssm = any_aws.ssm
    all_invocations(ssm, CommandId=command_id, Details=True, PaginationConfig={"PageSize": 5})
    all_invocations(ssm, Details=False)
    all_instance_information(ssm, PaginationConfig={"PageSize": 5})
    ssm.list_commands()
    ssm.list_commands(CommandId=command_id, MaxResults=1)
    ssm.get_command_invocation(CommandId=command_id, InstanceId=sorted(names)[0])
    ssm.describe_maintenance_window_executions(WindowId=run.window_id, MaxResults=10)
    ssm.get_maintenance_window_execution(WindowExecutionId=run.execution_id)
    ssm.describe_maintenance_window_execution_tasks(WindowExecutionId=run.execution_id)
    ssm.get_maintenance_window_execution_task(
        WindowExecutionId=run.execution_id, TaskId=run.task_execution_id
    )
    ssm.describe_maintenance_window_execution_task_invocations(
        WindowExecutionId=run.execution_id, TaskId=run.task_execution_id
    )
    record_patch_states(sorted(names)[:3], start=datetime(2026, 12, 3, 4, 30, tzinfo=UTC))
    ssm.describe_instance_patch_states(InstanceIds=sorted(names), MaxResults=10)

    # Then each body on the wire fits the operation's output shape exactly
    served = [(operation, body) for operation, body in any_aws.wire if operation in SERVED_OPERATIONS]
    assert {operation for operation, _ in served} == SERVED_OPERATIONS
    errors = [f"{op}: {e}" for op, body in served for e in shape_errors(body, any_aws.output_shape(op))]
    assert errors == []
