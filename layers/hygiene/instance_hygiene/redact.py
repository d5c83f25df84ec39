"""Make command output safe to show: `sanitize` terminal noise, `redact` secrets. Pure.

Command output is untrusted text: it can carry terminal escape sequences, stray control bytes
and, now and then, a secret an operator's script echoed. Everything quoted from a log (a
digest excerpt, a failure reason) goes through `clean` first.

Rules that shape this module:
- Every regular expression is linear on any input: possessive quantifiers, bounded repeats, or
  a pattern that always succeeds once started. There is no backtracking a 10 MB single line can
  turn quadratic (tests/unit/test_redact.py times the worst inputs we know).
- `redact` never adds or removes a line break (LF or CR), so line `i` of `redact(t)` is line
  `i` of `t` with its secrets replaced. Lines inside a private key block become empty lines.
- `redact` keeps the key visible (`password=[REDACTED]`) so a reader knows what was there,
  and is idempotent: `redact(redact(t)) == redact(t)`.
- It errs on the side of hiding: `token: expired` loses `expired`; a secret is never kept.
"""

import re
import string
from collections.abc import Callable, Iterator

__all__ = ["DROPPED", "REDACTED", "clean", "cut", "redact", "sanitize"]

REDACTED = "[REDACTED]"
"""Replacement for a secret value whose key stays visible."""

_PRIVATE_KEY = "[REDACTED:private-key]"
_ACCESS_KEY_ID = "[REDACTED:aws-access-key-id]"
_SECRET_KEY = "[REDACTED:aws-secret-key]"  # noqa: S105 - a marker, not a secret
_SESSION_TOKEN = "[REDACTED:aws-session-token]"  # noqa: S105 - a marker
_BLOB = "[REDACTED:base64]"
_GITHUB_TOKEN = "[REDACTED:github-token]"  # noqa: S105 - a marker
_SLACK_TOKEN = "[REDACTED:slack-token]"  # noqa: S105 - a marker
_JWT = "[REDACTED:jwt]"

# --------------------------------------------------------------------------- sanitize

_ESCAPE_SEQUENCE = re.compile(
    r"""
      \x1b\[ [0-?]*+ [ -/]*+ [@-~]                      # CSI: colours, cursor moves
    | \x1b\] [^\x07\x1b\r\n]*+ (?:\x07|\x1b\\)?          # OSC: window titles, hyperlinks
    | \x1b [PX^_] [^\x1b\r\n]*+ (?:\x1b\\)?              # DCS, SOS, PM, APC strings
    | \x1b [ -/]*+ [0-~]                                # other two-byte / nF sequences
    | \x9b [0-?]*+ [ -/]*+ [@-~]                        # 8-bit CSI
    | [\x90\x98\x9d\x9e\x9f] [^\x1b\x9c\x07\r\n]*+ (?:\x9c|\x07|\x1b\\)?   # 8-bit strings
    """,
    re.VERBOSE,
)

_C1_INTRODUCER = re.compile(r"[\x90\x98\x9b\x9d-\x9f]")

_DROPPED = (
    [c for c in range(0x20) if c not in (0x09, 0x0A)]  # C0 controls (NUL included), not \t \n
    + list(range(0x7F, 0xA0))  # DEL and C1 controls
    + [0x00AD, 0x061C, 0x180E, 0xFEFF]  # soft hyphen, Arabic letter mark, Mongolian vs, BOM
    + list(range(0x200B, 0x2010))  # zero-width spaces/joiners, LRM, RLM
    + list(range(0x202A, 0x202F))  # bidi embeddings and overrides
    + list(range(0x2060, 0x2065))  # word joiner, invisible operators
    + list(range(0x2066, 0x206A))  # bidi isolates
    + list(range(0xFFF9, 0xFFFC))  # interlinear annotation
)
DROPPED = frozenset(_DROPPED)
"""Code points `sanitize` removes."""
_CONTROL_TABLE: dict[int, str | None] = dict.fromkeys(_DROPPED)

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_escape_sequence(text: str) -> bool:
    return "\x1b" in text or _C1_INTRODUCER.search(text) is not None


def sanitize(text: str) -> str:
    """Printable text: no escape sequences, no control characters but `\\n` and `\\t`.

    - ANSI/VT escape sequences (CSI, OSC, DCS, 7- and 8-bit forms) are removed;
    - CRLF and lone CR become `\\n` (a progress bar redrawn with CR becomes several lines),
      U+2028/U+2029 become `\\n` too, so `str.splitlines()` and `split("\\n")` agree;
    - NUL and every other C0/C1 control, DEL, and invisible format characters (zero-width,
      bidi overrides, BOM) are removed. Removing NUL (rather than marking it) keeps UTF-16 text
      that was decoded as UTF-8 readable (`H\\0i\\0` becomes `Hi`);
    - lone surrogates (from `surrogateescape` decoding of invalid bytes) become U+FFFD, so the
      result always encodes to UTF-8.
    """
    # Line breaks first: no escape sequence may swallow one, whatever follows it.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    if _has_escape_sequence(text):
        text = _ESCAPE_SEQUENCE.sub("", text)
    text = text.translate(_CONTROL_TABLE)
    return _LONE_SURROGATE.sub("\ufffd", text)


# --------------------------------------------------------------------------- redact

# Private key blocks, handled line by line so that line breaks are kept.
_PEM_BEGIN = re.compile(r"-----BEGIN (?:(?!PRIVATE )[A-Z0-9]++ )*+PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END (?:(?!PRIVATE )[A-Z0-9]++ )*+PRIVATE KEY(?: BLOCK)?-----")
_PEM_MARKER = re.compile(rf"(?P<begin>{_PEM_BEGIN.pattern})|{_PEM_END.pattern}")
_PEM_BODY = re.compile(
    r"[ \t]*+(?:[A-Za-z0-9+/=]*+|(?:Proc-Type|DEK-Info|Comment|Version):[^\r\n]*+)[ \t\r]*+"
)
_BASE64_LINE = re.compile(r"[ \t]*+[A-Za-z0-9+/]++={0,2}[ \t\r]*+")

# A value after `key=`, `key: `, `"key": `: a double-quoted string (escapes allowed), a
# single-quoted string, a few words ended by `;` (connection strings: `Password=my pass;`),
# or a bare word. A quoted value without its closing quote runs to the end of the line: the
# quoted alternatives can never fail once the quote is seen, which keeps the pattern linear,
# and an unterminated secret is hidden whole.
_VALUE = (
    r"""(?:"(?:[^"\\\r\n\u2028\u2029]++|\\[^\r\n\u2028\u2029]?)*+(?:"|(?=[\r\n\u2028\u2029])|\Z)"""
    r"""|'[^'\r\n\u2028\u2029]*+(?:'|(?=[\r\n\u2028\u2029])|\Z)"""
    r"""|[^\s;&\u2028\u2029]{1,256}+(?:[ \t]++(?!\[REDACTED)[^\s;&=\u2028\u2029]{1,256}+){1,8}+(?=;)"""
    r"""|[^\s;&\u2028\u2029]++)"""
)

# Literal anchors: each pattern below is tried only where one of its anchors occurs (found
# with str.find on an ASCII-lowercased copy), which keeps a 10 MB line fast as well as linear.
_KEY_WORDS = (
    r"(?:pass(?:word|wd|phrase)|pwd|secret(?!smanager)|token|a(?:pi[_-]?key|ccess[_-]?key)"
    r"|private[_-]?key|x-amz-signature|account[_-]?key|shared[_-]?access[_-]?(?:key|signature))"
)
_KEY_ANCHORS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "api",
    "access",
    "private",
    "x-amz-signature",
    "account",
    "shared",
)

_AUTHORIZATION = re.compile(
    r"(?<![A-Za-z0-9_])(?P<key>authorization)"
    r"(?P<sep>[\"']?[ \t]*+[:=][ \t]*+[\"']?)"
    r"(?P<scheme>(?:bearer|basic|digest|negotiate|ntlm|token|aws4-hmac-sha256)[ \t]++)?+"
    r"(?P<value>(?!\[REDACTED)[^\"'\r\n\u2028\u2029]++)",  # not a value an earlier rule already replaced
    re.IGNORECASE | re.ASCII,
)
_BEARER = re.compile(
    r"(?<![A-Za-z0-9_])(?P<scheme>bearer[ \t]++)"
    r"""(?P<value>[A-Za-z0-9\-._~+/]{16,}+[^\s"',;\u2028\u2029]*+)""",
    re.IGNORECASE | re.ASCII,
)
_URL_CREDENTIALS = re.compile(
    r"://(?P<user>[^\s:/@?#\[\]]{0,256}+):(?P<password>(?!\[REDACTED)[^\s/]{1,256})@"
)
_KEY_VALUE = re.compile(
    r"(?<!/etc/)"  # not the file /etc/passwd
    rf"(?P<key>{_KEY_WORDS}[\w.-]{{0,40}}+)"
    r"(?P<sep>[\"']?[ \t]*+[:=][ \t]*+)"
    rf"(?P<value>{_VALUE})",
    re.IGNORECASE | re.ASCII,
)
_FLAG_VALUE = re.compile(  # --password VALUE, -Token VALUE (the dashes stay outside the match)
    r"(?:(?<=-)(?<![\w-]-)|(?<=--)(?<![\w-]--))"
    rf"(?P<key>{_KEY_WORDS}[\w-]{{0,40}}+)"
    r"(?P<sep>[ \t]++)"
    rf"(?P<value>{_VALUE})",
    re.IGNORECASE | re.ASCII,
)
_SECURE_STRING = re.compile(
    r"(?P<key>convertto-securestring(?:[ \t]++-string)?)(?P<sep>[ \t]++)"
    rf"(?P<value>{_VALUE})",
    re.IGNORECASE | re.ASCII,
)
# Command lines whose `-p` is a password: `mysql -pSECRET`, `sshpass -p SECRET`,
# `docker login -u me -p SECRET` (not `mkdir -p`, `ssh -p 22`: only after these tools).
_CLI_VALUE = r"""(?P<value>"[^"\r\n\u2028\u2029]*+"?|'[^'\r\n\u2028\u2029]*+'?|(?!\[REDACTED)[^\s'"]++)"""
_CLI_PASSWORD = re.compile(
    r"(?<![\w-])(?P<key>(?i:mysql|mariadb|sshpass|login)[\w.-]{0,20}+"
    r"(?:[ \t]++(?!-p)\S{1,256}+){0,16}+[ \t]++-p)(?P<sep>[ \t]*+)" + _CLI_VALUE
)
_CLI_PASSWORD_ANCHORS = ("mysql", "mariadb", "sshpass", "login")
# .netrc lines: `machine HOST login USER password SECRET`.
_NETRC = re.compile(
    r"(?<![\w-])(?P<key>machine[ \t]++\S{1,256}+(?:[ \t]++(?:login|account)[ \t]++\S{1,256}+){0,4}+"
    r"[ \t]++password)(?P<sep>[ \t]++)" + _CLI_VALUE,
    re.IGNORECASE,
)
# curl -u USER:SECRET, --user USER:SECRET, --proxy-user, -U (the user stays visible).
_CURL_USER = re.compile(
    r"(?<![\w-])(?P<key>curl(?:[ \t]++(?!-u|-U|--user|--proxy-user)\S{1,4096}+){0,32}+[ \t]++"
    r"(?:-u|-U|--user|--proxy-user)(?:[ \t]++|=)?+['\"]?+[^\s:'\"]{1,256}+:)(?P<sep>)"
    r"(?P<value>(?!\[REDACTED)[^\s'\"]{1,256}+)",
    re.IGNORECASE,
)
# Oracle's user/password@db: `jdbc:oracle:thin:scott/tiger@host`, `sqlplus scott/tiger@orcl`.
_ORACLE_CREDENTIALS = re.compile(
    r"(?P<key>(?:jdbc:oracle:[a-z]{1,10}+:|sqlplus(?:[ \t]++-\w{1,10}+)*+[ \t]++)[\w$#.-]{1,128}+/)(?P<sep>)"
    r"(?P<value>(?!\[REDACTED)[^\s@/'\"]{1,256}+)(?=[@\s'\"]|\Z)",
    re.IGNORECASE,
)
_GITHUB_TOKEN_RE = re.compile(
    r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}+|github_pat_[A-Za-z0-9_]{22,251}+)(?![A-Za-z0-9_])"
)
_GITHUB_TOKEN_ANCHORS = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")
_SLACK_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9-])xox[abposr]-[A-Za-z0-9-]{10,250}+")
_SLACK_WEBHOOK = re.compile(
    r"(?P<key>hooks\.slack\.com/(?:services|workflows|triggers)/)(?P<sep>)(?P<value>[A-Za-z0-9/_-]{8,}+)",
    re.IGNORECASE,
)
_JWT_RE = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}+\.eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]*+")
_ACCESS_KEY_ID_RE = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])")
_ACCESS_KEY_ID_ANCHORS = ("AKIA", "ASIA", "ABIA", "ACCA", "A3T")
_SESSION_TOKEN_RE = re.compile(
    r"(?<![A-Za-z0-9/+=])(?:FQoGZXIvYXdz|FwoGZXIvYXdz|IQoJb3JpZ2lu)[A-Za-z0-9/+=]{20,}+"
)
_SESSION_TOKEN_ANCHORS = ("FQoGZXIvYXdz", "FwoGZXIvYXdz", "IQoJb3JpZ2lu")
_FORTY_BASE64 = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_LONG_BASE64_LINE = re.compile(r"(?m)^[ \t]*+(?P<blob>[A-Za-z0-9+/]{40,}+={0,2})[ \t\r]*+$")

_CHARACTER_KINDS = (re.compile("[0-9]"), re.compile("[A-Z]"), re.compile("[a-z]"))

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _fold(text: str) -> str:
    """ASCII-only lowercase: same length as `text`, so positions carry over."""
    return text.translate(_ASCII_LOWER)


def _positions(haystack: str, needle: str) -> Iterator[int]:
    found = haystack.find(needle)
    while found >= 0:
        yield found
        found = haystack.find(needle, found + 1)


def _sub_at(
    pattern: re.Pattern[str],
    text: str,
    anchors: tuple[str, ...],
    replace: Callable[[re.Match[str]], str],
    *,
    fold: bool = True,
) -> str:
    """`pattern.sub(replace, text)` for a pattern that can only start at one of `anchors`."""
    haystack = _fold(text) if fold else text
    starts = sorted({position for anchor in anchors for position in _positions(haystack, anchor)})
    parts: list[str] = []
    done = 0
    for start in starts:
        if start < done:
            continue
        match = pattern.match(text, start)
        if match is None:
            continue
        parts.append(text[done : match.start()])
        parts.append(replace(match))
        done = match.end()
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def _keep_key(match: re.Match[str]) -> str:
    """`key<sep>[REDACTED]`, keeping the quote that opened a quoted value."""
    value = match.group("value")
    opening = value[0] if value[:1] in ("'", '"') else ""
    closing = opening if opening and len(value) > 1 and value.endswith(opening) else ""
    return f"{match.group('key')}{match.group('sep')}{opening}{REDACTED}{closing}"


def _keep_scheme(match: re.Match[str]) -> str:
    prefix = match.group(0)[: match.start("value") - match.start(0)]
    return f"{prefix}{REDACTED}"


def _keep_user(match: re.Match[str]) -> str:
    return f"://{match.group('user')}:{REDACTED}@"


def _looks_random(blob: str) -> bool:
    """Mixed case and digits: a key or token, not a word, a hex digest or a number."""
    return all(kind.search(blob) is not None for kind in _CHARACTER_KINDS)


def _blob(match: re.Match[str]) -> str:
    blob = match.group("blob")
    if not _looks_random(blob):
        return match.group(0)
    return match.group(0).replace(blob, _BLOB)


def _redact_private_keys(text: str) -> str:
    """Blank private key blocks: the BEGIN line gets the marker, the rest become empty lines.

    Handles a block cut short (no END line: it stops at the first line that is not key
    material), a one-line block (JSON with `\\n` escapes) and a block whose BEGIN was cut off
    (an END line preceded by key material, as in the tail of a long log). No BEGIN or END
    marker survives, which makes the result stable under a second pass.
    """
    if "PRIVATE KEY" not in text:
        return text
    lines = text.split("\n")
    out = list(lines)
    in_block = False
    for index, line in enumerate(lines):
        if in_block and _PEM_END.search(line) is None:
            if _PEM_BODY.fullmatch(line):
                out[index] = _kept_breaks(line)
                continue
            in_block = False
        if not in_block and _PEM_MARKER.search(line) is None:
            continue
        out[index], in_block, orphan_end = _redact_key_line(line, in_block=in_block)
        if orphan_end:  # the lines above it are the rest of the key
            back = index - 1
            while back >= 0 and out[back] == lines[back] and _BASE64_LINE.fullmatch(lines[back]):
                out[back] = _kept_breaks(lines[back])
                back -= 1
    return "\n".join(out)


def _redact_key_line(line: str, *, in_block: bool) -> tuple[str, bool, bool]:
    """One line's BEGIN/END markers in order: (redacted line, still in a block, orphan END seen).

    Inside a block everything up to its END goes; a BEGIN starts a block at the marker; an
    END outside a block ends key material that started before the line (or the segment).
    """
    parts: list[str] = []
    position = 0
    orphan_end = False
    for marker in _PEM_MARKER.finditer(line):
        is_begin = marker.group("begin") is not None
        if in_block:
            if not is_begin:
                parts.append(_kept_breaks(line[position : marker.end()]))
                in_block = False
                position = marker.end()
            continue
        if is_begin:
            parts.append(line[position : marker.start()])
            in_block = True
        else:
            parts.append(_kept_breaks(line[position : marker.start()]))
            orphan_end = True
        parts.append(_PRIVATE_KEY)
        position = marker.end()
    parts.append(_kept_breaks(line[position:]) if in_block else line[position:])
    return "".join(parts), in_block, orphan_end


def _kept_breaks(removed: str) -> str:
    """The carriage returns of removed text: `redact` keeps every line break, CR included."""
    return "\r" * removed.count("\r")


def _redact_forty_char_secrets(text: str) -> str:
    """40-character base64 runs (AWS secret access keys) on lines that mention a secret, and
    random-looking ones on lines with an access key id (a credentials CSV: `AKIA...,wJalr...`)."""
    folded = _fold(text)
    if "secret" not in folded and _ACCESS_KEY_ID not in text:
        return text
    lines = text.split("\n")
    for index, folded_line in enumerate(folded.split("\n")):
        if "secret" in folded_line:
            lines[index] = _FORTY_BASE64.sub(_SECRET_KEY, lines[index])
        elif _ACCESS_KEY_ID in lines[index]:
            lines[index] = _FORTY_BASE64.sub(_random_secret_key, lines[index])
    return "\n".join(lines)


def _random_secret_key(match: re.Match[str]) -> str:
    return _SECRET_KEY if _looks_random(match.group(0)) else match.group(0)


def redact(text: str) -> str:
    """Replace secrets with `[REDACTED]` (key kept) or `[REDACTED:<kind>]`.

    Kinds: `private-key` (PEM blocks), `aws-access-key-id` (AKIA/ASIA...),
    `aws-secret-key` (40-character keys on a line that mentions a secret),
    `aws-session-token` (FwoG.../IQoJ... tokens), `base64` (a whole line of 40+ random-looking
    base64, such as key material whose BEGIN line was cut off). Key/value forms keep the key:
    `password=`, `passwd:`, `pwd=`, `token=`, `api_key=`, `secret=` and relatives
    (case-insensitive, any prefix such as `DB_PASSWORD`, `aws_secret_access_key`,
    `SessionToken`, `AccountKey`), as `k=v`, `k: v`, `"k": "v"`, `--k v`; ADO/JDBC connection
    strings (`Password=...;`); `Authorization:` headers (scheme kept); bare `Bearer` tokens; URL
    credentials (`scheme://user:[REDACTED]@host`); command-line passwords (`mysql -p...`,
    `sshpass -p`, `docker login -p`, `curl -u user:...`), `.netrc` lines, Oracle's
    `user/password@db`; GitHub (`github-token`) and Slack (`slack-token`, webhook paths) tokens
    and JSON web tokens (`jwt`).

    Known limit: an unquoted value of several words keeps the words after the first
    (`passphrase: correct horse battery` hides `correct` only); quoted values and `...;`
    connection-string values are hidden whole.
    """
    # A replacement can give a neighbouring secret the boundary its pattern needs
    # (`AKIA...mysql -pX`: once the key is a marker, `mysql -p` stands alone): repeat until
    # nothing changes, so that redact(redact(t)) == redact(t). Text without secrets takes one pass.
    for _ in range(_MAX_PASSES):
        redacted = _redact_once(text)
        if redacted == text:
            break
        text = redacted
    return text


_MAX_PASSES = 4


def _redact_once(text: str) -> str:
    text = _redact_private_keys(text)
    text = _sub_at(_AUTHORIZATION, text, ("authorization",), _keep_scheme)
    text = _sub_at(_BEARER, text, ("bearer",), _keep_scheme)
    text = _sub_at(_URL_CREDENTIALS, text, ("://",), _keep_user, fold=False)
    text = _sub_at(_KEY_VALUE, text, _KEY_ANCHORS, _keep_key)
    text = _sub_at(_FLAG_VALUE, text, _KEY_ANCHORS, _keep_key)
    text = _sub_at(_SECURE_STRING, text, ("convertto-securestring",), _keep_key)
    text = _sub_at(_CLI_PASSWORD, text, _CLI_PASSWORD_ANCHORS, _keep_key)
    text = _sub_at(_NETRC, text, ("machine",), _keep_key)
    text = _sub_at(_CURL_USER, text, ("curl",), _keep_key)
    text = _sub_at(_ORACLE_CREDENTIALS, text, ("jdbc:oracle:", "sqlplus"), _keep_key)
    text = _sub_at(_ACCESS_KEY_ID_RE, text, _ACCESS_KEY_ID_ANCHORS, lambda _: _ACCESS_KEY_ID, fold=False)
    text = _sub_at(_SESSION_TOKEN_RE, text, _SESSION_TOKEN_ANCHORS, lambda _: _SESSION_TOKEN, fold=False)
    text = _sub_at(_GITHUB_TOKEN_RE, text, _GITHUB_TOKEN_ANCHORS, lambda _: _GITHUB_TOKEN, fold=False)
    text = _sub_at(_SLACK_TOKEN_RE, text, ("xox",), lambda _: _SLACK_TOKEN, fold=False)
    text = _sub_at(_SLACK_WEBHOOK, text, ("hooks.slack.com/",), _keep_key)
    text = _sub_at(_JWT_RE, text, ("eyJ",), lambda _: _JWT, fold=False)
    text = _redact_forty_char_secrets(text)
    return _LONG_BASE64_LINE.sub(_blob, text)


def clean(text: str) -> str:
    """`redact(sanitize(text))`: what quoted log text goes through.

    When the text holds escape sequences it is redacted once more before sanitizing: removing
    a sequence can eat the first letter of what follows (`ESC[` then `password=...` loses
    its `p`), and that pass catches such a secret while its key is whole. The final pass
    catches secrets that escape sequences or control characters split
    (`\\x1b[1mpassword\\x1b[0m=...`). `redact` keeps every CR and LF, so the lines of
    `clean(t)` are the lines of `sanitize(t)`.
    """
    if _has_escape_sequence(text):
        text = redact(text)
    return redact(sanitize(text))


def cut(text: str, limit: int) -> str:
    """At most `limit` characters (ending in "..." when cut); never ends inside a
    `[REDACTED...]` marker, so a cut can never expose what a marker replaced."""
    text = text.rstrip()
    if len(text) <= limit:
        return text
    kept = text[: limit - 3]
    bracket = kept.rfind("[")
    if bracket >= 0 and "]" not in kept[bracket:]:
        fragment = kept[bracket:]
        if fragment.startswith("[REDACTED") or "[REDACTED".startswith(fragment):
            kept = kept[:bracket]
    return kept.rstrip() + "..."
