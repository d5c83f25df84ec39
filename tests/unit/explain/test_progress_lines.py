"""explain.progress and the excerpt: package-manager progress lines say where a run was, not why
it failed; a run of them shows as its last line, or not at all when the budget is full.

Where the lines come from:
- the catalogue's own examples (explain/catalogue/*.toml, each with its public `source`);
- tests/fixtures/logs/linux_install_success_with_summary.stdout (yum's transaction, written from
  the documented formats: see tests/fixtures/logs/README.md);
- apt's own tests and guide (Debian/apt test/integration/test-apt-update-ims, doc/guide.dbk);
- otherwise the package managers' format strings, filled with real package names: yum's
  output.py `YumCliRPMCallBack._makefmt` (`"  %s: %s   " + done`, the action padded to the
  longest, 11 for "Repackaging"), dnf's dnf/cli/output.py (the same, padded to 17 for "Running
  scriptlet") and dnf/cli/progress.py (`(%d/%d): %s` then ` %5sB/s | %5sB %9s`), urlgrabber's
  progress.py `TextMultiFileMeter._do_end_meter` (` | %5sB  %s`), dpkg's src/main/*.c messages,
  zypper's src/callbacks/rpm.h label `(%*d/%d) Installing: %s-%s` and OutNormal.cc's `[done]`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from instance_hygiene.explain.engine import compiled
from instance_hygiene.explain.progress import is_progress_line
from instance_hygiene.explain.summarise import FailureSummary, StreamText, summarise_failure

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = ROOT / "layers" / "hygiene" / "instance_hygiene" / "explain" / "catalogue"
YUM_RUN = ROOT / "tests" / "fixtures" / "logs" / "linux_install_success_with_summary.stdout"


def yum_line(action: str, package: str, done: int, total: int) -> str:
    """A line as yum's `_makefmt` prints it without a terminal (100%: no bar, then `print " "`)."""
    width = len(str(total))
    return f"  {action:<11}: {package:<50}   {done:>{width}}/{total:>{width}} "


def dnf_line(action: str, package: str, done: int, total: int) -> str:
    """A line as dnf's `CliTransactionDisplay._makefmt` prints it without a terminal."""
    width = len(str(total))
    return f"  {action:<17}: {package:<50}   {done:>{width}}/{total:>{width}} "


def catalogue_example_with(rule_id: str, needle: str) -> list[str]:
    """The lines of the catalogue rule's example log that holds `needle` (each example names its
    public source)."""
    for path in sorted(CATALOGUE.glob("*.toml")):
        for rule in tomllib.loads(path.read_text())["rule"]:
            if rule["id"] != rule_id:
                continue
            for example in rule["examples"]:
                log = str(example["log"]).strip("\n")
                if needle in log:
                    return log.split("\n")
    raise LookupError(needle)


def yum_transaction_lines() -> list[str]:
    return [line for line in YUM_RUN.read_text().splitlines() if is_progress_line(line.encode())]


def summarise_patch(
    stdout: str, *, status: str = "Failed", details: str = "Failed", code: int = 1, budget: int = 8
) -> FailureSummary:
    return summarise_failure(
        document_name="AWS-RunPatchBaseline",
        status=status,
        status_details=details,
        step="PatchLinux",
        response_code=code,
        stdout=StreamText(head=stdout),
        stderr=None,
        excerpt_lines=budget,
    )


# --------------------------------------------------------------------------- classifier


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(
            "  Updating   : libcurl-8.3.0-1.amzn2.0.5.x86_64                             1/6",
            id="yum-fixture-updating",
        ),
        pytest.param(
            "  Cleanup    : openssh-7.4p1-22.amzn2.0.5.x86_64                            6/6",
            id="yum-fixture-cleanup",
        ),
        pytest.param(
            yum_line("Verifying", "glibc-2.26-64.amzn2.0.2.x86_64", 78620, 78622), id="yum-verifying"
        ),
        pytest.param(yum_line("Erasing", "kernel-4.14.336-257.562.amzn2.x86_64", 3, 16), id="yum-erasing"),
        pytest.param(
            yum_line("Installing", "kernel-5.10.218-208.862.amzn2.x86_64", 1, 16), id="yum-installing"
        ),
        pytest.param(
            dnf_line("Upgrading", "openssl-libs-1:3.0.8-1.amzn2023.0.14.x86_64", 1, 12), id="dnf-upgrading"
        ),
        pytest.param(
            dnf_line("Running scriptlet", "openssl-libs-1:3.0.8-1.amzn2023.0.14.x86_64", 1, 12),
            id="dnf-scriptlet",
        ),
        pytest.param(dnf_line("Preparing", "", 1, 1), id="dnf-preparing-without-package"),
        pytest.param(
            dnf_line("Verifying", "openssl-libs-1:3.0.8-1.amzn2023.0.14.x86_64", 12, 12), id="dnf-verifying"
        ),
        pytest.param(
            "(1/16): bind-libs-9.11.4-26.P2.amzn2.13.5.x86_64.rpm       | 157 kB  00:00:00     ",
            id="yum-download",
        ),
        pytest.param(
            "(2/12): openssl-libs-3.0.8-1.amzn2023.0.14.x86_64.rpm   12 MB/s | 2.2 MB     00:00    ",
            id="dnf-download",
        ),
        pytest.param(
            "Selecting previously unselected package linux-image-4.10.0-30-generic.", id="dpkg-selecting"
        ),
        pytest.param(
            "(Reading database ... 245778 files and directories currently installed.)", id="dpkg-database"
        ),
        pytest.param(
            "Preparing to unpack .../0-linux-image-4.10.0-30-generic_4.10.0-30.34_amd64.deb ...",
            id="dpkg-preparing",
        ),
        pytest.param("Unpacking psrchive (2012.12+20160608-1) ...", id="dpkg-unpacking-catalogue"),
        pytest.param(
            "Unpacking linux-image-sun7i (4.70) over (4.51) ...", id="dpkg-unpacking-over-catalogue"
        ),
        pytest.param("Setting up openssl (3.0.2-0ubuntu1.15) ...", id="dpkg-setting-up"),
        pytest.param("Processing triggers for man-db (2.10.2-1) ...", id="dpkg-triggers"),
        pytest.param(
            "Get:3 http://termux.net stable/main aarch64 Packages [44.0 kB]", id="apt-get-catalogue"
        ),
        pytest.param(
            "Hit:1 https://download.docker.com/linux/ubuntu bionic InRelease", id="apt-hit-catalogue"
        ),
        pytest.param("Get:1 http://ftp.de.debian.org/debian/ stable/main Packages", id="apt-guide"),
        pytest.param("(341/852) Installing: python2-future-0.16.0-1.27.noarch", id="zypper-catalogue"),
        pytest.param("( 1/16) Installing: libgdbm6-1.23-1.10 [done]", id="zypper-done"),
        pytest.param("( 2/16) Removing libgdbm4-1.10-9.70 [...]", id="zypper-removing-no-tty"),
        pytest.param(
            "Retrieving: vim-7.4.1194-1.1.x86_64.rpm ....[done (454.9 KiB/s)]", id="zypper-retrieving"
        ),
        pytest.param("Retrieving: vim-7.4.1194-1.1.x86_64.rpm [....done]", id="zypper-retrieving-no-tty"),
    ],
)
def test_given_a_progress_line_when_classified_then_it_is_progress(line: str) -> None:
    assert is_progress_line(line.encode())


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("Running transaction", id="yum-phase"),
        pytest.param("06/11/2024 02:00:19 root [INFO]: Installing 3 updates", id="patch-baseline-log"),
        pytest.param(
            "failure: repodata/repomd.xml from amzn2-core: [Errno 256] No more mirrors to try.",
            id="yum-failure",
        ),
        pytest.param("Error unpacking rpm package kernel-5.10.218-208.862.amzn2.x86_64", id="rpm-error"),
        pytest.param("dpkg: error processing package initramfs-tools (--configure):", id="dpkg-error"),
        pytest.param("Err:1 http://archive.ubuntu.com/ubuntu jammy InRelease", id="apt-err"),
        pytest.param("Ign:1 http://archive.ubuntu.com/ubuntu jammy InRelease", id="apt-ign"),
        pytest.param("( 1/16) Installing: kernel-default-5.14.21-150500.55.12.1 [error]", id="zypper-error"),
        pytest.param("  Updating   : " + "x" * 2000 + " 1/2", id="too-long"),
        pytest.param("", id="empty"),
    ],
)
def test_given_a_line_about_the_failure_when_classified_then_it_is_not_progress(line: str) -> None:
    assert not is_progress_line(line.encode())


def test_given_the_catalogue_examples_when_classified_then_no_line_a_cause_rule_matches_is_progress() -> None:
    """Progress lines never hide a cause: no line that a cause rule matches in its own public
    examples is classified as progress."""
    engine = compiled()
    examples = {
        rule["id"]: [str(example["log"]) for example in rule.get("examples", [])]
        for path in sorted(CATALOGUE.glob("*.toml"))
        for rule in tomllib.loads(path.read_text())["rule"]
    }
    checked = 0
    for matcher in engine.matchers:
        if matcher.rule.role != "cause":
            continue
        for log in examples.get(matcher.rule.id, []):
            for line in log.split("\n"):
                if matcher.regex.search(line.encode()) is not None:
                    checked += 1
                    assert not is_progress_line(line.encode()), (matcher.rule.id, line)
    assert checked > 100


# --------------------------------------------------------------------------- excerpt


def test_given_a_timeout_in_a_yum_transaction_when_summarised_then_only_the_last_progress_line_shows() -> (
    None
):
    # Given the fixture's yum run cut after its fifth transaction line, as a timeout leaves it
    lines = YUM_RUN.read_text().splitlines()
    stop = lines.index("  Cleanup    : libcurl-8.3.0-1.amzn2.0.4.x86_64                             5/6")
    log = "\n".join(lines[: stop + 1]) + "\n"

    # When
    summary = summarise_patch(log, status="TimedOut", details="ExecutionTimedOut", code=137)

    # Then the run shows as the line where it stopped, after the phase that began it
    shown = [line for line in summary.excerpt if is_progress_line(line.encode())]
    assert shown == ["  Cleanup    : libcurl-8.3.0-1.amzn2.0.4.x86_64                             5/6"]
    assert summary.excerpt[-2:] == ("Running transaction", shown[0])
    assert len(summary.excerpt) == 8


def test_given_dpkg_progress_before_the_error_when_summarised_then_the_reason_holds_and_one_line_shows() -> (
    None
):
    # Given the catalogue's public no-space example (armbian/build#130) after an apt download and a
    # dpkg run of lines in dpkg's own formats
    progress = [
        "Get:1 http://ftp.de.debian.org/debian/ stable/main Packages",
        "Selecting previously unselected package linux-image-sun7i.",
        "(Reading database ... 30065 files and directories currently installed.)",
        "Preparing to unpack .../linux-image-sun7i_4.70_armhf.deb ...",
    ]
    dpkg_example = catalogue_example_with("os.no-space", "Unpacking linux-image-sun7i")
    log = "\n".join([*progress, *dpkg_example]) + "\n"

    # When
    with_progress = summarise_patch(log)
    without_progress = summarise_patch("\n".join(dpkg_example[1:]) + "\n")

    # Then the reason is the rule's, as without the progress lines, and the run is one line
    assert with_progress.rule == without_progress.rule == "os.no-space"
    assert with_progress.reason == without_progress.reason
    shown = [line for line in with_progress.excerpt if is_progress_line(line.encode())]
    assert shown == ["Unpacking linux-image-sun7i (4.70) over (4.51) ..."]


@pytest.mark.parametrize(("budget", "progress_shown"), [(8, 1), (3, 0)])
def test_given_a_progress_run_then_an_error_when_summarised_then_the_run_is_one_line_or_dropped(
    budget: int, progress_shown: int
) -> None:
    """The run is a closing line like any other: shown as its last line while there is room,
    dropped when the lines that explain the failure take the budget."""
    # Given the fixture's yum transaction, then the catalogue's dpkg no-space example
    transaction = yum_transaction_lines()
    dpkg_example = catalogue_example_with("os.no-space", "Unpacking linux-image-sun7i")
    log = "\n".join([*transaction, *dpkg_example[1:]]) + "\n"

    # When
    summary = summarise_patch(log, budget=budget)

    # Then
    assert len(summary.excerpt) <= budget
    shown = [line for line in summary.excerpt if is_progress_line(line.encode())]
    assert shown == [transaction[-1].rstrip()][:progress_shown]
    assert any("No space left on device" in line for line in summary.excerpt)


def test_given_a_progress_line_with_an_error_word_when_summarised_then_it_is_not_taken_as_an_error_line() -> (
    None
):
    # Given yum installing perl-Error (a CentOS 7 base package; the word "Error" is in its name),
    # then more transaction lines, then the documented yum lock line (aws-ssm-facts.md section 4)
    log = "\n".join(
        [
            "Running transaction",
            yum_line("Installing", "1:perl-Error-0.17020-2.el7.noarch", 1, 3),
            yum_line("Installing", "perl-TermReadKey-2.30-20.el7.x86_64", 2, 3),
            yum_line("Installing", "perl-Git-1.8.3.1-25.el7_9.noarch", 3, 3),
            "another process has acquired yum lock, waiting 2 s and retry.",
        ]
    )

    # When
    summary = summarise_patch(log)

    # Then only the last line of the run is shown, the perl-Error line is not
    assert not [line for line in summary.excerpt if "perl-Error" in line]
    assert [line for line in summary.excerpt if is_progress_line(line.encode())] == [
        yum_line("Installing", "perl-Git-1.8.3.1-25.el7_9.noarch", 3, 3).rstrip()
    ]
