"""sanitize / redact / clean: terminal noise and secrets never reach a digest."""

import string
import time
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instance_hygiene.redact import REDACTED, clean, redact, sanitize

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"

# AWS's documented example credentials: not real, and recognisable as examples.
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleTokenBody0123456789"
PEM_BODY = (
    "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi3uHZIOyq8X1W9zmGhkdEHDqfe",
    "5g6DaP0N9nLzlnz6sjB2eHZbEPaKq0cJ1YhjX0I7y+OHbWXZbkwj7kK2m1Lm+Fpx",
    "xyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9AbCdEfGhIjKlMnOpQrStUvWxYz09",
)


def control_characters(text: str) -> set[str]:
    """Characters a sanitized text must not contain."""
    return {
        c
        for c in text
        if (unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t") or c in "\u2028\u2029\u202e"
    }


# --------------------------------------------------------------------------- sanitize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("\x1b[1;31mE: \x1b[0mbroken", "E: broken", id="csi-colours"),
        pytest.param("\x1b[2K\x1b[1Gdone", "done", id="csi-cursor"),
        pytest.param("\x1b]0;root@host: ~\x07prompt", "prompt", id="osc-title-bel"),
        pytest.param("\x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\", "link", id="osc-hyperlink-st"),
        pytest.param("\x9b31mred", "red", id="c1-csi"),
        pytest.param("a\r\nb\rc\nd", "a\nb\nc\nd", id="crlf-and-cr"),
        pytest.param("W\x00i\x00n\x00", "Win", id="nul-removed-utf16-readable"),
        pytest.param("tab\tkept\x07\x08\x7f", "tab\tkept", id="bell-backspace-del"),
        pytest.param("\u202eevil\u202c zero\u200bwidth\ufeff", "evil zerowidth", id="bidi-and-invisible"),
        pytest.param("a\u2028b\u2029c", "a\nb\nc", id="unicode-line-separators"),
        pytest.param("bad \udcff byte", "bad \ufffd byte", id="lone-surrogate"),
        pytest.param("plain text, café ✓", "plain text, café ✓", id="printable-unchanged"),
    ],
)
def test_given_terminal_noise_when_sanitized_then_only_printable_text_remains(
    raw: str, expected: str
) -> None:
    assert sanitize(raw) == expected


@pytest.mark.parametrize("errors", ["replace", "surrogateescape", "ignore"])
def test_given_messy_fixture_when_sanitized_then_no_control_characters_and_text_kept(errors: str) -> None:
    raw = (LOGS / "linux_messy_terminal.stdout").read_bytes().decode("utf-8", errors=errors)

    text = sanitize(raw)

    assert not control_characters(text)
    text.encode("utf-8")  # always encodable
    assert "Windows UTF-16" in text
    assert "E: Sub-process /usr/bin/dpkg returned an error code (1)" in text
    assert "Building dependency tree... Done" in text.split("\n")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=400))
def test_given_any_text_when_sanitized_then_no_controls_and_idempotent(text: str) -> None:
    once = sanitize(text)

    assert not control_characters(once)
    assert sanitize(once) == once
    assert once.splitlines() == once.split("\n")[: len(once.splitlines())]


# --------------------------------------------------------------------------- redact: forms


@pytest.mark.parametrize(
    ("text", "secret", "expected"),
    [
        pytest.param("password=hunter2", "hunter2", "password=[REDACTED]", id="password-equals"),
        pytest.param(
            "PASSWD: hunter2 now", "hunter2 now", "PASSWD: [REDACTED]", id="passwd-colon-hides-the-phrase"
        ),
        pytest.param("pwd=hunter2;x", "hunter2", "pwd=[REDACTED];x", id="pwd"),
        pytest.param("?token=abc123&next=1", "abc123", "?token=[REDACTED]&next=1", id="token-query"),
        pytest.param(
            "api_key: 'k3y with space'", "k3y with space", "api_key: '[REDACTED]'", id="api-key-quoted"
        ),
        pytest.param("secret = s3cr3t", "s3cr3t", "secret = [REDACTED]", id="secret-spaces"),
        pytest.param("DB_PASSWORD=pa55", "pa55", "DB_PASSWORD=[REDACTED]", id="env-prefix"),
        pytest.param(
            '{"password": "p\\"q", "user": "bob"}',
            'p\\"q',
            '{"password": "[REDACTED]", "user": "bob"}',
            id="json-escaped-quote",
        ),
        pytest.param(
            '{"SecretAccessKey": "abc/def"}', "abc/def", '{"SecretAccessKey": "[REDACTED]"}', id="json-aws"
        ),
        pytest.param(
            'password="never closed', "never closed", 'password="[REDACTED]', id="unterminated-quote"
        ),
        pytest.param(
            "mysql --password hunter2 -h db", "hunter2", "mysql --password [REDACTED] -h db", id="cli-flag"
        ),
        pytest.param(
            "New-Thing -Token abc123 -Force", "abc123", "New-Thing -Token [REDACTED] -Force", id="ps-flag"
        ),
        pytest.param(
            "ConvertTo-SecureString 'P@ss' -AsPlainText",
            "P@ss",
            "ConvertTo-SecureString '[REDACTED]' -AsPlainText",
            id="securestring",
        ),
        pytest.param(
            "Server=db;User Id=sa;Password=my pass;Encrypt=true",
            "my pass",
            "Server=db;User Id=sa;Password=[REDACTED];Encrypt=true",
            id="ado-connection-string",
        ),
        pytest.param(
            "jdbc:mysql://db:3306/app?user=app&password=s3cret",
            "s3cret",
            "jdbc:mysql://db:3306/app?user=app&password=[REDACTED]",
            id="jdbc-query",
        ),
        pytest.param(
            "Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig",
            "eyJhbGciOi.eyJzdWIi.sig",
            "Authorization: Bearer [REDACTED]",
            id="authorization-bearer",
        ),
        pytest.param(
            "-H 'Authorization: Basic dXNlcjpwYXNz'",
            "dXNlcjpwYXNz",
            "-H 'Authorization: Basic [REDACTED]'",
            id="authorization-basic",
        ),
        pytest.param(
            "token is Bearer abcdefghijklmnop1234",
            "abcdefghijklmnop1234",
            "token is Bearer [REDACTED]",
            id="bare-bearer",
        ),
        pytest.param(
            "git clone https://deploy:ghp_Zx81@github.com/o/r.git",
            "ghp_Zx81",
            "git clone https://deploy:[REDACTED]@github.com/o/r.git",
            id="url-credentials",
        ),
        pytest.param(
            "redis://:p@ss@cache:6379/0", "p@ss", "redis://:[REDACTED]@cache:6379/0", id="url-at-in-password"
        ),
        pytest.param(
            f"key {ACCESS_KEY_ID} used",
            ACCESS_KEY_ID,
            "key [REDACTED:aws-access-key-id] used",
            id="access-key-id",
        ),
        pytest.param(
            "role ASIAY34FZKBOKMUTVV7A assumed",
            "ASIAY34FZKBOKMUTVV7A",
            "role [REDACTED:aws-access-key-id] assumed",
            id="temporary-access-key-id",
        ),
        pytest.param(
            f"aws_secret_access_key {SECRET_ACCESS_KEY}",
            SECRET_ACCESS_KEY,
            "aws_secret_access_key [REDACTED:aws-secret-key]",
            id="secret-key-by-context",
        ),
        pytest.param(
            f"X-Amz-Security-Token: {SESSION_TOKEN}",
            SESSION_TOKEN,
            "X-Amz-Security-Token: [REDACTED]",
            id="session-token-header",
        ),
        pytest.param(
            f"creds {SESSION_TOKEN} end",
            SESSION_TOKEN,
            "creds [REDACTED:aws-session-token] end",
            id="bare-session-token",
        ),
        pytest.param(
            "GET /o?X-Amz-Signature=0a1b2c3d&X-Amz-Date=20240611",
            "0a1b2c3d",
            "GET /o?X-Amz-Signature=[REDACTED]&X-Amz-Date=20240611",
            id="presigned-url-signature",
        ),
    ],
)
def test_given_a_secret_when_redacted_then_value_hidden_and_key_kept(
    text: str, secret: str, expected: str
) -> None:
    redacted = redact(text)

    assert redacted == expected
    assert secret not in redacted


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("cat: /etc/passwd: Permission denied", id="path-to-passwd"),
        pytest.param("not authorized to perform: secretsmanager:GetSecretValue", id="iam-action"),
        pytest.param("commit 9fceb02d0ae598e95dc970b74767f19372d61af8 built", id="git-sha-without-context"),
        pytest.param("Permission denied (publickey,password).", id="ssh-methods"),
        pytest.param("Enter password:", id="prompt-without-value"),
        pytest.param("https://cdn.amazonlinux.com:443/2/core/repodata/repomd.xml", id="url-with-port"),
        pytest.param("Bearer token expired", id="bearer-in-prose"),
        pytest.param("06/11/2024 02:00:17 root [INFO]: another process has acquired yum lock", id="log-line"),
    ],
)
def test_given_text_without_secrets_when_redacted_then_unchanged(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\x1b[1mpassword\x1b[0m=hunter2", id="coloured-key"),
        pytest.param("\x1b[password=hunter2", id="escape-would-swallow-the-key"),
        pytest.param("pass\x00word=hunter2", id="nul-inside-the-key"),
        pytest.param("password=\x1b[31mhunter2\x1b[0m", id="coloured-value"),
    ],
)
def test_given_secret_mixed_with_escape_sequences_when_cleaned_then_secret_is_gone(text: str) -> None:
    assert "hunter2" not in clean(text)


# --------------------------------------------------------------------------- redact: private keys

BEGIN = "-----BEGIN RSA PRIVATE KEY-----"
END = "-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "\n".join(["before", BEGIN, *PEM_BODY, END, "after"]),
            "\n".join(["before", "[REDACTED:private-key]", "", "", "", "", "after"]),
            id="whole-block",
        ),
        pytest.param(
            "\n".join(["before", BEGIN, *PEM_BODY[:2]]),
            "\n".join(["before", "[REDACTED:private-key]", "", ""]),
            id="truncated-no-end",
        ),
        pytest.param(
            "\n".join([BEGIN, PEM_BODY[0], "06/11/2024 root [INFO]: next step"]),
            "\n".join(["[REDACTED:private-key]", "", "06/11/2024 root [INFO]: next step"]),
            id="truncated-then-log",
        ),
        pytest.param(
            "\n".join([*PEM_BODY[1:], END, "after"]),
            "\n".join(["", "", "[REDACTED:private-key]", "after"]),
            id="tail-without-begin",
        ),
        pytest.param(
            '{"key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----\\n", "n": 1}',
            '{"key": "[REDACTED:private-key]\\n", "n": 1}',
            id="one-line-json",
        ),
        pytest.param(
            "\n".join(
                [
                    "-----BEGIN ENCRYPTED PRIVATE KEY-----",
                    "Proc-Type: 4,ENCRYPTED",
                    "DEK-Info: AES-128-CBC,3F1A",
                    "",
                    PEM_BODY[0],
                    "-----END ENCRYPTED PRIVATE KEY----- trailing",
                ]
            ),
            "\n".join(["[REDACTED:private-key]", "", "", "", "", " trailing"]),
            id="encrypted-with-headers",
        ),
        pytest.param(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----",
            "[REDACTED:private-key]\n\n",
            id="openssh",
        ),
    ],
)
def test_given_private_key_when_redacted_then_block_hidden_and_lines_kept(text: str, expected: str) -> None:
    redacted = redact(text)

    assert redacted == expected
    assert redacted.count("\n") == text.count("\n")
    assert not any(chunk in redacted for chunk in PEM_BODY)


def test_given_secrets_fixture_when_cleaned_then_planted_secrets_are_gone_and_keys_visible() -> None:
    raw = (LOGS / "linux_secrets_leak.stdout").read_text()
    planted = [
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        "IQoJb3JpZ2luX2VjEJr",
        "Tr0ub4dor",
        "hunter2-correct-horse",
        "3f9a1c0e5b7d4e2a8c6f1b0d9e7a5c3b",
        "s3cr3t-Value-With-Mixed-0123",
        "eyJhbGciOiJIUzI1NiJ9",
        "Pa55 word",
        "Pa55",
    ]
    pem_lines = raw.split(BEGIN)[1].split(END)[0].split()

    cleaned = clean(raw)

    assert all(secret not in cleaned for secret in planted)
    assert all(line not in cleaned for line in pem_lines)
    for visible in (
        "AWS_ACCESS_KEY_ID=[REDACTED]",
        f"AWS_SECRET_ACCESS_KEY={REDACTED}",
        "password=[REDACTED]",
        "api_key: [REDACTED]",
        '"client_secret": "[REDACTED]"',
        "Authorization: Bearer [REDACTED]",
        "postgres://backup:[REDACTED]@db.internal.example:5432/app",
        "[REDACTED:private-key]",
    ):
        assert visible in cleaned
    assert "curl: (22) The requested URL returned error: 401" in cleaned
    assert cleaned.count("\n") == raw.count("\n")


# --------------------------------------------------------------------------- redact: properties

noise = st.text(alphabet=string.ascii_lowercase + string.punctuation + " \t\n", max_size=60)
secret_values = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=8, max_size=30).filter(
    lambda s: any(c.isdigit() for c in s)  # the markers hold no digits, so no false alarm on "REDACTED"
)
key_forms = st.sampled_from(
    [
        "password={s}",
        "Password: {s}",
        "passwd: {s}",
        "pwd={s}",
        "token={s}",
        "api_key={s}",
        "secret: {s}",
        '"password": "{s}"',
        "'token': '{s}'",
        "--password {s}",
        "Authorization: Bearer {s}",
        "https://user:{s}@example.com/x",
        "Server=db;Password={s};",
    ]
)


@settings(max_examples=300, deadline=None)
@given(prefix=noise, suffix=noise, form=key_forms, secret=secret_values)
def test_given_planted_secret_when_redacted_then_secret_never_survives(
    prefix: str, suffix: str, form: str, secret: str
) -> None:
    text = f"{prefix} {form.format(s=secret)} {suffix}"

    assert secret not in redact(text)
    assert secret not in clean(text)


@settings(max_examples=200, deadline=None)
@given(prefix=noise, suffix=noise, body=st.text(alphabet=string.ascii_uppercase + string.digits, min_size=16))
def test_given_planted_aws_credentials_when_redacted_then_none_survive(
    prefix: str, suffix: str, body: str
) -> None:
    key_id = "AKIA" + body[:16]
    text = "\n".join(
        [
            prefix,
            f"{key_id} {prefix}",
            f"aws_secret_access_key={SECRET_ACCESS_KEY}",
            BEGIN,
            PEM_BODY[0],
            suffix,
        ]
    )

    redacted = redact(text)

    assert key_id not in redacted
    assert SECRET_ACCESS_KEY not in redacted
    assert PEM_BODY[0] not in redacted


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *"aAzZ09=:;&\"' \t\n/\\-_.@+",
                "password",
                "token",
                "secret",
                "Bearer ",
                "://",
                "AKIA",
                BEGIN,
                END,
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_given_any_text_when_redacted_then_lines_kept_and_idempotent(text: str) -> None:
    once = redact(text)

    assert once.count("\n") == text.count("\n")
    assert redact(once) == once


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *"aZ0=:; \n\r\t\"'",
                "\r\n",
                "\x1b[",
                "\x1bP",
                "\x1b]0;t",
                "\x07",
                "\x00",
                "\u2028",
                "password",
                "token",
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_given_any_text_when_cleaned_then_its_lines_are_the_lines_of_sanitize(text: str) -> None:
    cleaned = clean(text)

    assert cleaned.count("\n") == sanitize(text).count("\n")
    assert clean(cleaned) == cleaned


# --------------------------------------------------------------------------- linear time

TEN_MB = 10 * 1024 * 1024


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a" * TEN_MB, id="10MB-of-a"),
        pytest.param("password=" * (TEN_MB // 9), id="10MB-of-password="),
        pytest.param('password="\\" ' * (TEN_MB // 13), id="10MB-of-unclosed-quoted-values"),
        pytest.param(f"{BEGIN}\n" * (TEN_MB // 32), id="10MB-of-begin-lines"),
    ],
)
def test_given_10mb_adversarial_line_when_cleaned_then_finishes_quickly(text: str) -> None:
    started = time.perf_counter()

    clean(text)

    assert time.perf_counter() - started < 10.0  # about 1 s measured; quadratic would be hours
