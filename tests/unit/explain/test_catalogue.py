"""explain/catalogue/: every built-in rule explains its public examples, and the engine picks the cause.

Operator rules extend the catalogue: a bad one is one clear problem while the others still load,
and no pattern backtracks.
"""

from __future__ import annotations

import time

import pytest

from instance_hygiene.explain.engine import Engine, compiled
from instance_hygiene.explain.rules import FAMILIES, Rule, builtin_catalogue, parse_rules
from instance_hygiene.explain.summarise import FailureSummary, StreamText, summarise_failure

CATALOGUE = builtin_catalogue()
CAUSES = [rule for rule in CATALOGUE.rules if rule.role == "cause"]
NOISE = [rule for rule in CATALOGUE.rules if rule.role != "cause"]
DOCUMENTS = {
    "patch": "AWS-RunPatchBaseline",
    "healthcheck": "instance-hygiene-Healthcheck",
    "shell": "AWS-RunShellScript",
}


def explain(
    log: str, *, document: str = "patch", step: str | None = None, engine: Engine | None = None
) -> FailureSummary:
    return summarise_failure(
        document_name=DOCUMENTS[document],
        status="Failed",
        status_details="Failed",
        step=step or "PatchLinux",
        response_code=1,
        stdout=StreamText(head=log),
        stderr=None,
        engine=engine,
    )


def default_step(rule: Rule) -> str:
    return "PatchWindows" if rule.family in ("windows_update", "powershell") else "PatchLinux"


# --------------------------------------------------------------------------- the built-in catalogue


def test_the_builtin_catalogue_loads_without_a_problem_and_covers_every_family() -> None:
    assert CATALOGUE.problems == ()
    assert {rule.family for rule in CATALOGUE.rules} == set(FAMILIES)
    assert len({rule.id for rule in CAUSES}) >= 60
    assert len(CATALOGUE.hresults) >= 60
    assert {0, 1, 2, 146, 152, 155, 156, 194, 195, 196} <= {e.code for e in CATALOGUE.exit_codes}


@pytest.mark.parametrize("rule", CATALOGUE.rules, ids=[rule.id for rule in CATALOGUE.rules])
def test_every_rule_has_an_example_from_public_material(rule: Rule) -> None:
    assert rule.examples, "each rule is proven on at least one published log"
    for example in rule.examples:
        assert example.source.strip()


@pytest.mark.parametrize(
    ("rule", "index"),
    [(rule, index) for rule in CAUSES for index in range(len(rule.examples))],
    ids=[f"{rule.id}#{index}" for rule in CAUSES for index in range(len(rule.examples))],
)
def test_each_cause_rule_explains_its_examples(rule: Rule, index: int) -> None:
    example = rule.examples[index]

    summary = explain(example.log, document=example.document, step=example.step or default_step(rule))

    assert summary.rule == rule.id, summary.reason
    assert "{" not in summary.reason
    assert "[" not in summary.reason.replace("[REDACTED", "")
    assert summary.next_step is None or "{" not in summary.next_step
    if example.reason is not None:
        assert summary.reason == example.reason


@pytest.mark.parametrize("rule", NOISE, ids=[rule.id for rule in NOISE])
def test_decoration_advice_and_header_lines_are_never_the_reason(rule: Rule) -> None:
    engine = compiled()
    matcher = next(m for m in engine.matchers if m.rule.id == rule.id)
    for example in rule.examples:
        summary = explain(example.log, document=example.document, step=example.step or default_step(rule))
        noise_lines = [
            line for line in example.log.split("\n") if matcher.regex.search(line.encode()) is not None
        ]
        assert noise_lines, "the example shows the line the rule marks"
        assert all(" ".join(line.split()) not in summary.reason for line in noise_lines if line.strip())


# --------------------------------------------------------------------------- choosing the cause


def test_a_powershell_error_record_is_explained_by_its_message_not_its_category_info() -> None:
    # The record's shape as PowerShell prints it (github.com/farag2/Sophia-Script-for-Windows/issues/130).
    log = (
        "Get-Thing : The thing service did not answer in time.\n"
        "At C:\\ProgramData\\Amazon\\SSM\\InstanceData\\i-0abc\\document\\orchestration\\x"
        "\\_script.ps1:12 char:1\n"
        "+ Get-Thing -Name x\n"
        "+ ~~~~~~~~~~~~~~~~~\n"
        "    + CategoryInfo          : OperationTimeout: (:) [Get-Thing], TimeoutException\n"
        "    + FullyQualifiedErrorId : ThingTimeout,Get-Thing\n"
    )

    summary = explain(log, step="RunWindowsHealthcheck", document="healthcheck")

    assert summary.reason == "Get-Thing : The thing service did not answer in time."
    assert "CategoryInfo" not in summary.reason


def test_a_bare_error_header_gives_the_detail_under_it() -> None:
    # dnf's layout (github.com/amazonlinux/container-images/issues/80) with a detail no rule knows.
    log = (
        "Error: \n Problem: conflicting requests\n  - package foo-1.0 is filtered out by exclude filtering\n"
    )

    summary = explain(log)

    assert summary.reason != "Error:"
    assert "conflicting requests" in summary.reason or "filtered out" in summary.reason


def test_the_first_cause_wins_over_a_later_echo_of_the_same_kind() -> None:
    log = (
        "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 2448 (unattended-upgr)\n"
        "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 9 (apt-get)\n"
    )

    assert (
        explain(log).reason
        == "apt/dpkg lock /var/lib/dpkg/lock-frontend is held by unattended-upgr (pid 2448)"
    )


def test_a_more_severe_cause_wins_over_an_earlier_milder_one() -> None:
    log = (
        "E: Unable to locate package athena\n"
        "dpkg: error processing archive x.deb (--unpack):\n"
        " cannot copy extracted data for './boot/vmlinuz' to '/boot/vmlinuz.dpkg-new': failed to write "
        "(No space left on device)\n"
    )

    summary = explain(log)

    assert summary.rule == "os.no-space"
    assert summary.severity == "critical"


def test_a_decimal_hresult_is_read_as_its_hex_code_with_its_meaning() -> None:
    summary = explain("Search failed with HResult: -2145123273\n", step="PatchWindows")

    assert summary.reason.startswith("Windows error 0x80240437: ")
    assert CATALOGUE.hresults["0x80240437"].meaning in summary.reason


def test_captures_come_from_the_redacted_line() -> None:
    log = "E: Could not get lock /var/lib/dpkg/lock password=hunter2 It is held by process 1 (apt)\n"

    summary = explain(log)

    assert "hunter2" not in summary.reason
    assert "hunter2" not in (summary.next_step or "")


# --------------------------------------------------------------------------- operator rules


GOOD = """
[[rule]]
id = "site.vendor-agent"
match = 'vendor-agent: license server (?P<host>[a-z0-9.-]+) unreachable'
reason = "vendor agent cannot reach its license server {host}"
next_step = "open TCP 27000 to {host}"
severity = "critical"
examples = [{ log = "vendor-agent: license server lic.example.internal unreachable", source = "our runbook" }]
"""


def test_an_operator_rule_explains_a_log_the_catalogue_does_not_know() -> None:
    extra = parse_rules(GOOD, origin="ssm:/hygiene/rules")
    engine = Engine(CATALOGUE.with_extra(extra))

    summary = explain("vendor-agent: license server lic.example.internal unreachable\n", engine=engine)

    assert extra.problems == ()
    assert summary.reason == "vendor agent cannot reach its license server lic.example.internal"
    assert summary.next_step == "open TCP 27000 to lic.example.internal"
    assert summary.rule == "site.vendor-agent"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param(
            "[[rule]]\nid = 'site.x'\nmatch = '(?<=a)b'\nreason = 'r'\n",
            "not a valid RE2 pattern",
            id="lookbehind",
        ),
        pytest.param(
            "[[rule]]\nid = 'site.x'\nmatch = 'a(b'\nreason = 'r'\n",
            "not a valid RE2 pattern",
            id="unbalanced",
        ),
        pytest.param(
            "[[rule]]\nid = 'site.x'\nmatch = 'abc'\nreason = '{nope}'\n", "{nope}", id="unknown-placeholder"
        ),
        pytest.param("[[rule]]\nid = 'x'\nmatch = 'abc'\nreason = 'r'\n", "id", id="id-without-family"),
        pytest.param("[[rule]]\nid = 'site.x'\nmatch = 'abc'\n", "needs a reason", id="cause-without-reason"),
        pytest.param(
            "[[rule]]\nid = 'site.x'\nmatch = 'abc'\nreason = 'r'\ncolour = 1\n", "colour", id="unknown-key"
        ),
        pytest.param(
            "[[rule]]\nid = 'site.x'\nmatch = 'abc'\nreason = 'r'\nseverity = 'huge'\n",
            "severity",
            id="bad-severity",
        ),
        pytest.param(
            "[[rule]]\nid = 'site.x'\nmatch = 'abc'\nreason = 'r [{x}'\n", "unbalanced", id="bracket"
        ),
    ],
)
def test_a_bad_operator_rule_is_one_clear_problem_and_the_others_still_load(text: str, says: str) -> None:
    loaded = parse_rules(text + GOOD, origin="ssm:/hygiene/rules")

    assert [rule.id for rule in loaded.rules] == ["site.vendor-agent"]
    (problem,) = loaded.problems
    assert says in str(problem)
    assert str(problem).startswith("ssm:/hygiene/rules: rule ")


def test_text_that_is_not_toml_is_one_problem_and_no_rule() -> None:
    loaded = parse_rules("this is = = not toml", origin="ssm:/hygiene/rules")

    assert loaded.rules == ()
    assert "not TOML" in str(loaded.problems[0])


def test_a_pattern_that_backtracks_exponentially_elsewhere_is_linear_here() -> None:
    evil = parse_rules(
        "[[rule]]\nid = 'site.evil'\nmatch = '(a+)+$'\nreason = 'evil'\n"
        "examples = [{ log = 'aaa', source = 'the classic ReDoS pattern' }]\n",
        origin="test",
    )
    engine = Engine(CATALOGUE.with_extra(evil))
    log = "a" * 200_000 + "b\n"

    start = time.perf_counter()
    explain(log, engine=engine)
    elapsed = time.perf_counter() - start

    assert evil.problems == ()
    assert elapsed < 5, "Python's re needs longer than the universe's age for this input"
