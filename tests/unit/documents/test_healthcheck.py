"""Static checks of the SSM Command document documents/healthcheck.yaml and its scripts.

The template embeds the document with AWS::Include, so it must be plain, JSON-compatible
YAML; its step names end up in the S3 output keys, so they are part of the interface.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from instance_hygiene.explain.summarise import StreamText, summarise_failure

DOCUMENTS = Path(__file__).resolve().parents[3] / "documents"
DOCUMENT_PATH = DOCUMENTS / "healthcheck.yaml"
LINUX_SCRIPT = DOCUMENTS / "scripts" / "healthcheck.sh"
WINDOWS_SCRIPT = DOCUMENTS / "scripts" / "healthcheck.ps1"

EXPECTED_STEPS = [
    ("DownloadLinuxHealthcheck", "aws:downloadContent", "Linux"),
    ("RunLinuxHealthcheck", "aws:runShellScript", "Linux"),
    ("DownloadWindowsHealthcheck", "aws:downloadContent", "Windows"),
    ("RunWindowsHealthcheck", "aws:runPowerShellScript", "Windows"),
    ("RunMacOSHealthcheck", "aws:runShellScript", "MacOS"),
]
EXPECTED_DEFAULTS: dict[str, str | None] = {
    "ScriptBucket": None,
    "LinuxScriptKey": "scripts/healthcheck.sh",
    "WindowsScriptKey": "scripts/healthcheck.ps1",
    "LinuxScriptSha256": None,
    "WindowsScriptSha256": None,
    "RequiredServices": "",
    "MinFreeDiskPercent": "10",
    "MinFreeMemoryPercent": "5",
    "HttpEndpoint": "",
    "FailOnPendingReboot": "false",
    "ExecutionTimeout": "600",
    "WindowExecutionId": "",
}
RECORD_ONLY = {"WindowExecutionId"}
SCRIPT_OPTIONS = [
    "RequiredServices",
    "MinFreeDiskPercent",
    "MinFreeMemoryPercent",
    "HttpEndpoint",
    "FailOnPendingReboot",
]
PARAMETER_REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_.:-]+)\s*\}\}")

INJECTION_ATTEMPTS = [
    "x; rm -rf /",
    "$(id)",
    "`id`",
    "a'b",
    'a"b',
    "a\nb",
    "nginx\n",
    "10\n",
    "true\n",
    "a && b",
    "a|b",
    "a > /etc/passwd",
    "$HOME",
    "a b",
    "\u2019; id; \u2018",
    "C:\\Windows",
    "../../etc/passwd",
    "x\x00y",
    "http://localhost/'; id; '",
    "http://localhost/$(id)",
]

VALID_VALUES = {
    "ScriptBucket": ["my-hygiene-bucket", "abc", "hygiene.scripts.example-123"],
    "LinuxScriptKey": ["scripts/healthcheck.sh", "healthcheck.sh", "a/b-c/d_e/v1.2/check.sh"],
    "WindowsScriptKey": ["scripts/healthcheck.ps1", "windows/v2/healthcheck.ps1"],
    "LinuxScriptSha256": [
        "0123456789abcdef" * 4,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ],
    "WindowsScriptSha256": ["f" * 64, "0" * 64],
    "RequiredServices": ["", "nginx", "nginx,sshd", "amazon-ssm-agent,W3SVC", "getty@tty1.service"],
    "MinFreeDiskPercent": ["0", "5", "10", "99"],
    "MinFreeMemoryPercent": ["0", "5", "99"],
    "HttpEndpoint": [
        "",
        "http://localhost",
        "http://localhost:8080/health",
        "https://127.0.0.1/healthz",
        "https://127.0.0.1:8443/api/v1/status",
    ],
    "FailOnPendingReboot": ["true", "false"],
    "ExecutionTimeout": ["30", "99", "100", "600", "999", "1000", "2999", "3000", "3599", "3600"],
    # A window execution id: a lowercase UUID, as GetMaintenanceWindowExecution returns it.
    "WindowExecutionId": ["", "14bea65d-5ccc-462d-a2f3-e99c80a1b2c3"],
}
INVALID_VALUES = {
    "ScriptBucket": ["", "ab", "My-Bucket", "-bucket", "bucket-", "a" * 64, "bucket/key"],
    "LinuxScriptKey": ["", "/scripts/healthcheck.sh", "scripts/", "scripts//x.sh", "../x.sh", "a+b.sh"],
    "WindowsScriptKey": ["", "scripts\\healthcheck.ps1", "scripts/../x.ps1", ".hidden/x.ps1"],
    "LinuxScriptSha256": ["", "0" * 63, "0" * 65, "F" * 64, "g" * 64, "0" * 64 + "\n", " " + "0" * 64],
    "WindowsScriptSha256": [
        "",
        "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "sha256:" + "0" * 64,
    ],
    "RequiredServices": [",", "nginx,", ",nginx", "nginx,,sshd", "-nginx", "MSSQL$SQLEXPRESS", "*"],
    "MinFreeDiskPercent": ["", "100", "-1", "05", "5.5", "ten", " 5"],
    "MinFreeMemoryPercent": ["", "100", "-5"],
    "HttpEndpoint": [
        "http://example.com/",
        "ftp://localhost/",
        "file:///etc/passwd",
        "http://localhost.evil.com/",
        "http://127.0.0.1@evil.com/",
        "http://localhost:123456/",
        "http://localhost/a?b=c",
        "localhost:8080",
    ],
    "FailOnPendingReboot": ["", "True", "FALSE", "yes", "1"],
    "ExecutionTimeout": ["", "0", "29", "3601", "4000", "10000", "600s", "0600"],
    "WindowExecutionId": ["{{WINDOW_EXECUTION_ID}}", "not-a-uuid", "14BEA65D-5CCC-462D-A2F3-E99C80A1B2C3"],
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded = yaml.safe_load(DOCUMENT_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def parameters(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    declared: dict[str, dict[str, Any]] = document["parameters"]
    return declared


@pytest.fixture(scope="module")
def steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in document["mainSteps"]}


def run_command_text(step: dict[str, Any]) -> str:
    return "\n".join(step["inputs"]["runCommand"])


def test_schema_version_is_the_string_2_2(document: dict[str, Any]) -> None:
    # Given the loaded document
    # Then it is a schema 2.2 Command document (a string, not the float 2.2)
    assert document["schemaVersion"] == "2.2"
    assert isinstance(document["description"], str)
    assert document["description"].strip()


def test_steps_names_actions_and_order(document: dict[str, Any]) -> None:
    # Given the loaded document
    # Then it has exactly the four steps whose names appear in the S3 output keys
    actual = [
        (step["name"], step["action"], step["precondition"]["StringEquals"][1])
        for step in document["mainSteps"]
    ]
    assert actual == EXPECTED_STEPS


@pytest.mark.parametrize(("name", "action", "platform"), EXPECTED_STEPS)
def test_each_step_has_platform_precondition(
    steps: dict[str, dict[str, Any]], name: str, action: str, platform: str
) -> None:
    # Given one step
    step = steps[name]
    # Then it only runs on its platform
    assert step["action"] == action
    assert step["precondition"] == {"StringEquals": ["platformType", platform]}


def test_parameter_names_and_defaults(parameters: dict[str, dict[str, Any]]) -> None:
    # Given the declared parameters
    # Then they are exactly the expected ones, with the expected defaults
    assert list(parameters) == list(EXPECTED_DEFAULTS)
    assert {name: spec.get("default") for name, spec in parameters.items()} == EXPECTED_DEFAULTS


@pytest.mark.parametrize("name", ["ScriptBucket", "LinuxScriptSha256", "WindowsScriptSha256"])
def test_bucket_and_script_hashes_are_required(parameters: dict[str, dict[str, Any]], name: str) -> None:
    # Given the parameter
    # Then it has no default, so that SSM requires a value (no run without a hash to check)
    assert "default" not in parameters[name]
    assert "(Required)" in parameters[name]["description"]


def test_description_documents_every_exit_code_of_the_run_steps(document: dict[str, Any]) -> None:
    # Given the run steps' own exit codes
    codes = {
        int(code)
        for name in ("RunLinuxHealthcheck", "RunWindowsHealthcheck")
        for code in re.findall(r"^\s*exit ([0-9]+)$", run_command_text(_step(document, name)), re.M)
    }
    # Then the missing script (3) and the refused hash (4) are among them and the description says so
    assert {3, 4} <= codes
    assert "3 when the downloaded script is missing and 4 when its SHA-256 differs" in " ".join(
        document["description"].split()
    )


def _step(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(step for step in document["mainSteps"] if step["name"] == name)


@pytest.mark.parametrize(
    ("name", "parameter", "run_marker"),
    [
        ("RunLinuxHealthcheck", "LinuxScriptSha256", 'bash "$HYGIENE_SCRIPT"'),
        ("RunWindowsHealthcheck", "WindowsScriptSha256", "& $hygieneScript @hygieneArguments"),
    ],
)
def test_run_step_checks_the_hash_before_it_runs_the_script(
    steps: dict[str, dict[str, Any]], name: str, parameter: str, run_marker: str
) -> None:
    # Given a run step
    text = run_command_text(steps[name])
    # Then it reads its platform's hash parameter and refuses a mismatch (exit 4) before running
    assert f"'{{{{ {parameter} }}}}'" in text
    refusal = text.index("healthcheck script hash mismatch: expected ")
    assert refusal < text.index(run_marker)
    assert "exit 4" in text[refusal : text.index(run_marker)]


@pytest.mark.parametrize("name", list(EXPECTED_DEFAULTS))
def test_parameter_is_a_described_string_with_anchored_portable_pattern(
    parameters: dict[str, dict[str, Any]], name: str
) -> None:
    # Given one parameter
    spec = parameters[name]
    pattern = spec["allowedPattern"]
    # Then it is a String with a description and an anchored pattern that avoids
    # engine-specific syntax (lookarounds, non-capturing groups, \d, \s, \w)
    assert spec["type"] == "String"
    assert isinstance(spec["description"], str)
    assert spec["description"].strip()
    assert isinstance(pattern, str)
    assert pattern.startswith("^")
    assert pattern.endswith("$")
    assert "(?" not in pattern
    assert not re.search(r"\\[dswDSW]", pattern)
    re.compile(pattern)


@pytest.mark.parametrize("name", [name for name, value in EXPECTED_DEFAULTS.items() if value is not None])
def test_default_matches_its_pattern(parameters: dict[str, dict[str, Any]], name: str) -> None:
    # Given a parameter with a default
    spec = parameters[name]
    # Then the default is a string that its own pattern accepts
    assert isinstance(spec["default"], str)
    assert re.fullmatch(spec["allowedPattern"], spec["default"])


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in VALID_VALUES.items() for value in values]
)
def test_pattern_accepts_valid_value(parameters: dict[str, dict[str, Any]], name: str, value: str) -> None:
    # Given a legitimate value
    # Then the parameter's pattern accepts it
    assert re.fullmatch(parameters[name]["allowedPattern"], value)


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in INVALID_VALUES.items() for value in values]
)
def test_pattern_rejects_invalid_value(parameters: dict[str, dict[str, Any]], name: str, value: str) -> None:
    # Given a value outside the parameter's domain
    # Then the parameter's pattern rejects it
    assert re.fullmatch(parameters[name]["allowedPattern"], value) is None


@pytest.mark.parametrize("attempt", INJECTION_ATTEMPTS)
@pytest.mark.parametrize("name", list(EXPECTED_DEFAULTS))
def test_pattern_rejects_injection_attempt(
    parameters: dict[str, dict[str, Any]], name: str, attempt: str
) -> None:
    # Given a value crafted to break out of the shell or PowerShell command line
    # Then no parameter accepts it
    assert re.fullmatch(parameters[name]["allowedPattern"], attempt) is None


BREAKOUT_CHARACTERS = ["'", '"', "`", "\n", "\r", "\u2018", "\u2019", "\u201c", "\u201d", "$", ";", "&", "|"]


@pytest.mark.parametrize("character", BREAKOUT_CHARACTERS)
@pytest.mark.parametrize("name", list(EXPECTED_DEFAULTS))
def test_no_valid_value_survives_a_breakout_character(
    parameters: dict[str, dict[str, Any]], name: str, character: str
) -> None:
    # Given every legitimate value of a parameter with a quote, newline or shell operator
    # inserted in the middle or appended (the run steps single-quote each value)
    pattern = parameters[name]["allowedPattern"]
    for value in filter(None, VALID_VALUES[name]):
        middle = len(value) // 2
        for tampered in (value[:middle] + character + value[middle:], value + character):
            # Then the pattern rejects it
            assert re.fullmatch(pattern, tampered) is None, repr(tampered)


def test_every_reference_names_a_declared_parameter(
    document: dict[str, Any], parameters: dict[str, dict[str, Any]]
) -> None:
    # Given every {{ Param }} reference in the steps
    references = set(PARAMETER_REFERENCE.findall(json.dumps(document["mainSteps"])))
    # Then each one is declared, and every declared parameter is used, except the record of the
    # window execution, which only the notifier reads (from ListCommands' Parameters)
    assert references == set(parameters) - RECORD_ONLY


@pytest.mark.parametrize("name", ["RunLinuxHealthcheck", "RunWindowsHealthcheck"])
def test_run_step_passes_every_option_and_the_timeout(steps: dict[str, dict[str, Any]], name: str) -> None:
    # Given a run step
    step = steps[name]
    text = run_command_text(step)
    # Then it passes every script option, single-quoted, and is bounded by ExecutionTimeout
    for option in SCRIPT_OPTIONS:
        assert f"'{{{{ {option} }}}}'" in text
    assert step["inputs"]["timeoutSeconds"] == "{{ ExecutionTimeout }}"


def test_every_reference_in_run_steps_is_single_quoted(steps: dict[str, dict[str, Any]]) -> None:
    # Given the run steps
    for name in ("RunLinuxHealthcheck", "RunWindowsHealthcheck"):
        text = run_command_text(steps[name])
        # Then each reference sits inside single quotes (a literal in bash and PowerShell)
        for match in PARAMETER_REFERENCE.finditer(text):
            assert text[match.start() - 1] == "'", match.group(0)
            assert text[match.end()] == "'", match.group(0)


@pytest.mark.parametrize(
    ("download", "run", "key_parameter"),
    [
        ("DownloadLinuxHealthcheck", "RunLinuxHealthcheck", "LinuxScriptKey"),
        ("DownloadWindowsHealthcheck", "RunWindowsHealthcheck", "WindowsScriptKey"),
    ],
)
def test_download_step_fetches_the_script_from_s3(
    steps: dict[str, dict[str, Any]], download: str, run: str, key_parameter: str
) -> None:
    # Given a download step
    inputs = steps[download]["inputs"]
    # Then it fetches the platform's script from the bucket, stops the document on failure,
    # and its destination is the file the run step executes
    assert inputs["sourceType"] == "S3"
    assert json.loads(inputs["sourceInfo"]) == {
        "path": f"https://s3.amazonaws.com/{{{{ ScriptBucket }}}}/{{{{ {key_parameter} }}}}"
    }
    assert inputs["onFailure"] == "exit"
    assert inputs["destinationPath"] in run_command_text(steps[run])


def test_linux_destination_is_root_owned_and_absolute(steps: dict[str, dict[str, Any]]) -> None:
    # Given the Linux download destination
    destination = steps["DownloadLinuxHealthcheck"]["inputs"]["destinationPath"]
    # Then it is an absolute file path under the agent's root-only directory, not /tmp
    assert destination == "/var/lib/amazon/ssm/hygiene/healthcheck.sh"
    assert not destination.startswith(("/tmp", "/var/tmp", "/dev/shm"))


def test_windows_destination_is_under_programdata(steps: dict[str, dict[str, Any]]) -> None:
    # Given the Windows download destination
    destination = steps["DownloadWindowsHealthcheck"]["inputs"]["destinationPath"]
    # Then it is a file under C:\ProgramData\Amazon\SSM\hygiene
    assert destination == "C:\\ProgramData\\Amazon\\SSM\\hygiene\\healthcheck.ps1"


def test_linux_run_step_exits_with_the_script_exit_code(steps: dict[str, dict[str, Any]]) -> None:
    # Given the Linux run step
    lines = [line.strip() for line in run_command_text(steps["RunLinuxHealthcheck"]).splitlines()]
    lines = [line for line in lines if line]
    # Then it runs the script with bash and exits with the script's own exit code
    assert lines[0] == "#!/bin/bash"
    assert "set -u" in lines
    assert "if (set -o pipefail) 2>/dev/null; then set -o pipefail; fi" in lines
    assert any(line.startswith('bash "$HYGIENE_SCRIPT"') for line in lines)
    assert lines[-2:] == ["HYGIENE_EXIT_CODE=$?", 'exit "$HYGIENE_EXIT_CODE"']


def test_windows_run_step_exits_with_the_script_exit_code(steps: dict[str, dict[str, Any]]) -> None:
    # Given the Windows run step
    lines = [line.strip() for line in run_command_text(steps["RunWindowsHealthcheck"]).splitlines()]
    lines = [line for line in lines if line]
    # Then it invokes the script in-process and exits with $LASTEXITCODE
    assert "& $hygieneScript @hygieneArguments" in lines
    assert lines[-1] == "exit $LASTEXITCODE"


def test_linux_run_step_is_valid_bash(steps: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    # Given the Linux run step's commands with parameters substituted by their defaults
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed: cannot syntax-check the run step")
    text = PARAMETER_REFERENCE.sub(
        lambda match: EXPECTED_DEFAULTS[match.group(1)] or "x", run_command_text(steps["RunLinuxHealthcheck"])
    )
    script = tmp_path / "run_step.sh"
    script.write_text(text)
    # When bash parses it
    result = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True, check=False)
    # Then it is valid
    assert result.returncode == 0, result.stderr


def test_document_is_json_serialisable(document: dict[str, Any]) -> None:
    # Given the loaded document
    # When it is turned into JSON and back
    round_tripped = json.loads(json.dumps(document))
    # Then nothing is lost (no dates, sets or other YAML-only values)
    assert round_tripped == document


def test_document_has_no_yaml_tags_anchors_or_aliases() -> None:
    # Given the raw YAML text
    tokens = list(yaml.scan(DOCUMENT_PATH.read_text(encoding="utf-8")))
    # Then it uses no tag (!Ref, !!str ...), anchor or alias, which AWS::Include cannot take
    forbidden = [
        token for token in tokens if isinstance(token, yaml.TagToken | yaml.AnchorToken | yaml.AliasToken)
    ]
    assert forbidden == []


def test_document_is_a_single_plain_mapping() -> None:
    # Given the raw YAML text
    documents = list(yaml.safe_load_all(DOCUMENT_PATH.read_text(encoding="utf-8")))
    # Then it holds exactly one mapping with the Command document's top-level keys only
    assert len(documents) == 1
    assert set(documents[0]) == {"schemaVersion", "description", "parameters", "mainSteps"}


def test_scripts_exist() -> None:
    # Given the scripts the download steps fetch
    # Then both are present and the bash one is executable
    assert LINUX_SCRIPT.is_file()
    assert WINDOWS_SCRIPT.is_file()
    assert LINUX_SCRIPT.stat().st_mode & 0o111


def test_bash_script_passes_bash_n() -> None:
    # Given the bash script
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed: cannot syntax-check healthcheck.sh")
    # When bash parses it without running it
    result = subprocess.run([bash, "-n", str(LINUX_SCRIPT)], capture_output=True, text=True, check=False)
    # Then it is valid
    assert result.returncode == 0, result.stderr


def test_windows_script_declares_the_same_options() -> None:
    # Given the PowerShell script's param() block
    text = WINDOWS_SCRIPT.read_text(encoding="utf-8")
    block = re.search(r"param\((.*?)\n\)", text, re.DOTALL)
    assert block is not None
    declared = re.findall(r"\[string\]\$(\w+)", block.group(1))
    # Then it takes exactly the options the run step passes, as strings
    assert declared == SCRIPT_OPTIONS


@pytest.mark.parametrize("script", [LINUX_SCRIPT, WINDOWS_SCRIPT], ids=["bash", "powershell"])
@pytest.mark.parametrize("name", SCRIPT_OPTIONS)
def test_scripts_validate_options_with_the_document_patterns(
    parameters: dict[str, dict[str, Any]], script: Path, name: str
) -> None:
    # Given the pattern the document enforces on an option
    pattern = parameters[name]["allowedPattern"]
    # Then the script checks its argument against the same pattern (defence in depth)
    assert pattern in script.read_text(encoding="utf-8")


def test_on_macos_the_healthcheck_fails_with_a_line_that_says_why(steps: dict[str, dict[str, Any]]) -> None:
    # platformType is Linux, Windows or MacOS (SSM API reference, PlatformType). Without a macOS
    # step, every step is skipped there and the command reports Success with nothing checked.
    step = steps["RunMacOSHealthcheck"]
    (script,) = step["inputs"]["runCommand"]
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False, timeout=10)

    assert run.returncode == 1
    assert run.stdout.splitlines()[0].startswith("CHECK platform:macOS FAIL no healthcheck script for macOS")
    summary = summarise_failure(
        document_name="instance-hygiene-Healthcheck",
        status="Failed",
        status_details="Failed",
        step="RunMacOSHealthcheck",
        response_code=run.returncode,
        stdout=StreamText(head=run.stdout, tail="", complete=True),
        stderr=StreamText(head=run.stderr, tail="", complete=True),
    )
    assert summary.reason == "healthcheck: 1 of 1 checks failed: platform:macOS"
    assert any("no healthcheck script for macOS" in line for line in summary.excerpt)
