"""Logs as the agent could write them: log-text strategies and the hostile-log corpus.

`log_text` (Hypothesis) mixes the atoms real agent logs are made of (line breaks, escapes, error
words, secrets-shaped text) with arbitrary text. `HOSTILE_LOGS` are raw bytes (invalid UTF-8,
NUL, ANSI, 10 MB single lines, CRLF, UTF-16, latin-1) with what their digest must say; the unit
tests read and summarise them, tests/integration/test_hostile_logs.py plays them through the
command handler on moto.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st

from instance_hygiene.digest.logs import HEAD_BYTES

MB = 1024 * 1024


# The warning every patch run on some Amazon Linux hosts prints: never the reason, never in the excerpt.
HARMLESS = "Unable to gain necessary access for possible kernel updates"


log_atoms = st.sampled_from(
    [
        "\n",
        "\r\n",
        " ",
        "\x1b[31m",
        "\x00",
        "\udcff",
        "[ERROR]: ",
        "Summary: {",
        "'InstalledCount': 3",
        "}",
        "Patch Summary for h\n",
        "FailedCount : -1\n",
        "CHECK disk:/ FAIL x\n",
        "HEALTHCHECK FAIL 1 of 2 checks failed: a\n",
        "Traceback (most recent call last)\n",
        "ValueError: x\n",
        "0x80240437",
        "HRESULT: -2145123273",
        "failed to run commands: exit status 4294967295",
        "another process has acquired yum lock",
        HARMLESS,
        "password=hunter2 ",
        "-----BEGIN RSA PRIVATE KEY-----\n",
        "E: ",
        "error",
    ]
)


log_text = st.one_of(
    st.text(max_size=300), st.lists(st.one_of(log_atoms, st.text(max_size=10)), max_size=40).map("".join)
)


@dataclass(frozen=True)
class HostileLog:
    """A log as the agent could upload it (raw bytes), and what its digest must say."""

    name: str
    build: Callable[[], bytes]
    reason: str
    """A part of the expected reason."""
    excerpt: str | None = None
    """A part of some excerpt line, when one is expected."""
    stream: str = "stdout"


def _ten_mb_single_line_error_last() -> bytes:
    return b"x" * (10 * MB) + b" ERROR: no space left on device\n"


def _ten_mb_single_line_error_first() -> bytes:
    return b"ERROR: repository metadata: Could not resolve host: repo.example " + b"y" * (10 * MB)


def _ten_mb_of_lines() -> bytes:
    line = b"06/11/2024 02:00:00 root [INFO]: still downloading\r\n"
    return line * (10 * MB // len(line)) + b"06/11/2024 03:00:00 root [ERROR]: Read-only file system\r\n"


def _split_character_at_head_end() -> bytes:
    # A four-byte character across byte HEAD_BYTES, then enough to need a tail read.
    return (
        b"a" * (HEAD_BYTES - 2)
        + "\U0001f680 rocket\n".encode()
        + b"filler line\n" * 8_000
        + (b"ERROR: disk quota exceeded\n")
    )


HOSTILE_LOGS = [
    HostileLog(
        "invalid-utf8",
        lambda: (
            b"Reading package lists...\n\xff\xfe\xc3(bad \x80\x81 bytes\n"
            b"E: Sub-process /usr/bin/dpkg returned an error code (1)\n"
        ),
        reason="/usr/bin/dpkg returned error code 1",
        excerpt="\ufffd",
    ),
    HostileLog(
        "nul-bytes",
        lambda: b"\x00\x00E: dpkg was interrupted\x00, you must manually run 'dpkg --configure -a'\n",
        reason="dpkg was interrupted",
        excerpt="E: dpkg was interrupted, you must manually run",
        stream="stderr",
    ),
    HostileLog(
        "ansi-escapes",
        lambda: (
            b"\x1b[1;31mERROR:\x1b[0m write /var/cache/yum: \x1b[33mno space left on device\x1b[0m\n"
            b"\x1b]0;root@web-01\x07\x1b[2K\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\\n"
        ),
        reason="no space left on device",
        excerpt="ERROR: write /var/cache/yum: no space left on device",
    ),
    HostileLog(
        "crlf",
        lambda: (
            b"Loaded plugins: priorities\r\nSetting up Install Process\r\n"
            b"Error: Cannot find a valid baseurl for repo: amzn2-core/2/x86_64\r\n"
        ),
        reason="no valid baseurl for repository amzn2-core/2/x86_64",
        excerpt="Error: Cannot find a valid baseurl for repo: amzn2-core/2/x86_64",
    ),
    HostileLog(
        "carriage-return-progress",
        lambda: (
            b"Downloading 10%\rDownloading 55%\rDownloading 100%\n"
            b"fatal: unable to access 'https://git.example/': Could not resolve host: git.example\n"
        ),
        reason="DNS resolution failed",
        excerpt="Downloading 100%",
        stream="stderr",
    ),
    HostileLog(
        "utf16le-whole-log",
        lambda: "\ufeffERROR: Windows Update: Access is denied.\r\n".encode("utf-16-le"),
        reason="access denied",
        excerpt="ERROR: Windows Update: Access is denied.",
    ),
    HostileLog(
        "utf16-chunk-in-utf8",
        lambda: (
            b"Starting patch run\n"
            + "Installer-Fehler: 0x80240437\r\n".encode("utf-16-le")
            + b"\nERROR: Windows Update search failed with HRESULT 0x80240437\n"
        ),
        reason="0x80240437",
        excerpt="Installer-Fehler: 0x80240437",
    ),
    HostileLog(
        "latin1",
        lambda: "Fehler beim Öffnen der Datei /opt/café/paket.rpm\nERROR: rpmdb open failed\n".encode(
            "latin-1"
        ),
        reason="the rpm database is damaged",
        excerpt="Fehler beim \ufffdffnen",
    ),
    HostileLog(
        "10MB-single-line-error-at-the-end",
        _ten_mb_single_line_error_last,
        reason="no space left on device",
        excerpt="ERROR: no space left on device",
    ),
    HostileLog(
        "10MB-single-line-error-at-the-start",
        _ten_mb_single_line_error_first,
        reason="DNS resolution failed",
        excerpt="ERROR: repository metadata: Could not resolve host: repo.example",
        stream="stderr",
    ),
    HostileLog(
        "10MB-of-crlf-lines-error-at-the-end",
        _ten_mb_of_lines,
        reason="read-only file system",
        excerpt="Read-only file system",
    ),
    HostileLog(
        "character-split-at-the-head-end",
        _split_character_at_head_end,
        reason="ERROR: disk quota exceeded",
        excerpt="ERROR: disk quota exceeded",
    ),
    HostileLog(
        "bidi-override-and-zero-width",
        "ERROR: permission denied on /etc/\u202egnp.exe\u202c and zero\u200bwidth\n".encode,
        reason="ERROR: permission denied on /etc/gnp.exe and zerowidth",
    ),
    HostileLog(
        "binary-garbage",
        lambda: bytes(range(256)) * 400,
        reason="",
    ),
    HostileLog(
        "only-escape-sequences",
        lambda: b"\x1b[2J\x1b[H\x1b[?25l\x1b[0m\r\n\x07\x07",
        reason="failed with exit code 1, no output available",
    ),
    HostileLog(
        # The agent's marker is never the reason; the word it cut ("words") is dropped.
        "truncation-marker-as-last-line",
        lambda: b"line one\nfinal words\n---Output truncated---",
        reason="final",
        excerpt="final",
    ),
]
