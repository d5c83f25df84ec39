"""Make command output safe to show: `sanitize` terminal noise, `redact` secrets. Pure.

Command output is untrusted text: it can carry terminal escape sequences, stray control bytes
and, now and then, a secret an operator's script echoed. Everything quoted from a log (a
digest excerpt, a failure reason) goes through `clean` first.

Rules that shape this module:
- Every regular expression is linear on any input: possessive quantifiers, bounded repeats, or
  a pattern that always succeeds once started. There is no backtracking a 10 MB single line can
  turn quadratic (tests/unit/secrets/test_redact.py times the worst inputs we know).
- `redact` never adds or removes a line break (LF or CR), so line `i` of `redact(t)` is line
  `i` of `t` with its secrets replaced. Lines inside a private key block become empty lines.
- `redact` keeps the key visible (`password=[REDACTED]`) so a reader knows what was there,
  and is idempotent: `redact(redact(t)) == redact(t)`.
- It errs on the side of hiding: `token: expired` loses `expired`; a secret is never kept.
"""

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator

from instance_hygiene.secrets.detectors import DETECTORS, Detector

__all__ = ["DROPPED", "REDACTED", "clean", "clean_field", "cut", "redact", "sanitize"]

REDACTED = "[REDACTED]"
"""Replacement for a secret value whose key stays visible."""

_PRIVATE_KEY = "[REDACTED:private-key]"
_ACCESS_KEY_ID = "[REDACTED:aws-access-key-id]"
_SECRET_KEY = "[REDACTED:aws-secret-key]"  # noqa: S105 - a marker, not a secret
_BLOB = "[REDACTED:base64]"
_HIGH_ENTROPY = "[REDACTED:high-entropy]"

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


def normalise_line_breaks(text: str) -> str:
    """CRLF, CR, U+2028 and U+2029 as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")


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
    text = normalise_line_breaks(text)
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

_FORTY_BASE64 = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_LONG_BASE64_LINE = re.compile(r"(?m)^[ \t]*+(?P<blob>[A-Za-z0-9+/]{40,}+={0,2})[ \t\r]*+$")

_CHARACTER_KINDS = (re.compile("[0-9]"), re.compile("[A-Z]"), re.compile("[a-z]"))


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _fold(text: str) -> str:
    """ASCII-only lowercase: same length as `text`, so positions carry over. Non-ASCII characters
    become NUL first (`str.lower` may lengthen them; `str.translate` is 30 times slower once the
    text is not ASCII)."""
    return text.lower() if text.isascii() else _NON_ASCII.sub("\x00", text).lower()


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
    material), a one-line block (JSON with `\\n` escapes), a block whose BEGIN was cut off
    (an END line preceded by key material, as in the tail of a long log), a block printed with
    a log prefix on every line (`2024-05-01T10:00:00Z -----BEGIN ...`, `journalctl`: the body
    lines are key material after a prefix of the BEGIN line's shape) and PuTTY key files
    (`Private-Lines: N` and the N lines under it, `Private-MAC:`). No BEGIN or END marker
    survives, which makes the result stable under a second pass.
    """
    if "PRIVATE KEY" not in text and "Private-" not in text:
        return text
    lines = text.split("\n")
    out = list(lines)
    in_block = False
    lead = ""
    putty_left = 0
    for index, line in enumerate(lines):
        if putty_left:
            putty_left -= 1
            if _BASE64_LINE.fullmatch(line):
                out[index] = _kept_breaks(line)
                continue
            putty_left = 0
        if in_block and _PEM_END.search(line) is None:
            if _PEM_BODY.fullmatch(line) or (lead and _after_lead(line, lead)):
                out[index] = _kept_breaks(line)
                continue
            in_block = False
        putty = _PUTTY_PRIVATE.match(line)
        if putty is not None:
            out[index] = _PRIVATE_KEY + _kept_breaks(line)
            putty_left = int(putty.group("count")) if putty.group("count") else 0
            continue
        if not in_block and _PEM_MARKER.search(line) is None:
            continue
        begin = _PEM_BEGIN.search(line)
        lead = line[: begin.start()] if begin is not None and not in_block else lead
        out[index], in_block, orphan_end = _redact_key_line(line, in_block=in_block)
        if orphan_end:  # the lines above it are the rest of the key
            back = index - 1
            while back >= 0 and out[back] == lines[back] and _BASE64_LINE.fullmatch(lines[back]):
                out[back] = _kept_breaks(lines[back])
                back -= 1
    return "\n".join(out)


_DIGIT = re.compile("[0-9]")
_PUTTY_PRIVATE = re.compile(r"[ \t]*+Private-(?:Lines:[ \t]*+(?P<count>[0-9]{1,4})|MAC:)")


def _after_lead(line: str, lead: str) -> bool:
    """`line` is a log prefix shaped like `lead` (digits may differ) followed by key material."""
    head = line[: len(lead)]
    return (
        _DIGIT.sub("0", head) == _DIGIT.sub("0", lead) and _PEM_BODY.fullmatch(line[len(lead) :]) is not None
    )


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

    The detectors are in `detectors.py`, in families (cloud credentials, code hosting, chat and
    webhooks, SaaS and AI keys, Vault, registry auth, JWTs, URL credentials, key-value secrets in
    the syntaxes admin scripts print); besides them: private key blocks (`private-key`), AWS
    secret keys (`aws-secret-key`: 40 characters on a line that mentions a secret or next to an
    access key id), whole lines of random-looking base64 (`base64`, key material whose BEGIN was
    cut off) and a random-looking token right after a word such as key, token, secret or
    signature (`high-entropy`: what no detector names). Text that is not ASCII is compared in
    its NFKC form, so full-width letters (U+FF50... for `password=`) are caught as their ASCII twins;
    `clean` removes the escape sequences, NULs and zero-width characters that could split one.
    """
    if not text.isascii():
        # Compared in NFKC form; text without a secret is returned as it came (`…` stays `…`).
        folded = unicodedata.normalize("NFKC", text)
        redacted = _redact(folded)
        return text if redacted == folded else redacted
    return _redact(text)


def _redact(text: str) -> str:
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
    for detector in DETECTORS:
        text = apply_detector(detector, text)
    text = _redact_forty_char_secrets(text)
    text = _LONG_BASE64_LINE.sub(_blob, text)
    return _redact_high_entropy(text)


def apply_detector(detector: Detector, text: str) -> str:
    """`text` with what one detector finds replaced (the other detectors and passes not run)."""
    replace = _keep_key if detector.keep == "key" else _marker(detector)
    if not detector.anchors:
        if not any(needed in text for needed in detector.requires):
            return text
        return detector.pattern.sub(replace, text)
    return _sub_at(detector.pattern, text, detector.anchors, replace, fold=detector.fold)


def _marker(detector: Detector) -> Callable[[re.Match[str]], str]:
    marker = f"[REDACTED:{detector.kind}]"
    if detector.random_only:
        return lambda match: marker if _looks_random(match.group(0)) else match.group(0)
    return lambda _: marker


# A random-looking token a few characters after a word that announces a secret: what no
# detector names (`signing key 9xQ2...`, `X-Api-Auth 4fJk...`): a run of 16 or more characters
# between separators that mixes upper case, lower case and digits with 3.5 bits of entropy per
# character; paths, package names, versions, instance and command ids, hex digests and S3 keys
# are not all of these at once (tests/fixtures/secrets/benign.json measures it).
_ENTROPY_WORDS = (
    "key",
    "token",
    "secret",
    "pass",
    "pwd",
    "auth",
    "cred",
    "sig",
    "session",
    "cookie",
    "bearer",
)
_ENTROPY_CANDIDATE = re.compile(
    r"(?<![a-z])(?:key|token|secret|pass|pwd|auth|cred|sig|session|cookie|bearer)[a-z_-]{0,16}+"
    r"(?P<gap>[^A-Za-z0-9\r\n\u2028\u2029\[]{1,8}+)(?P<token>[A-Za-z0-9+/=_.~-]{20,512}+)",
    re.IGNORECASE | re.ASCII,
)
ENTROPY_BITS = 3.5
"""Shannon entropy, in bits per character, of a token's longest run that makes it a secret."""
ENTROPY_MIN_RUN = 16


def _entropy(token: str) -> float:
    counts = Counter(token)
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


_SEPARATORS = re.compile(r"[-_.~/]++")


def _high_entropy(match: re.Match[str]) -> str:
    # Judged on its longest run between separators: `RPM-GPG-KEY-fedora-34-primary` and
    # `scripts/Modules/Module-AD.psd1` are words joined up, not a random string.
    token = match.group("token")
    run = max(_SEPARATORS.split(token), key=len)
    if len(run) < ENTROPY_MIN_RUN or not _looks_random(run) or _entropy(run) < ENTROPY_BITS:
        return match.group(0)
    return match.group(0)[: match.start("token") - match.start(0)] + _HIGH_ENTROPY


def _redact_high_entropy(text: str) -> str:
    return _sub_at(_ENTROPY_CANDIDATE, text, _ENTROPY_WORDS, _high_entropy)


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
        # The line breaks sanitize will make are line breaks to this pass too (a value is never
        # read across U+2028): the same normalisation, in the same order, first.
        text = redact(normalise_line_breaks(text))
    return redact(sanitize(text))


def clean_field(value: object, limit: int = 256) -> str:
    """A field from an API or an event (a comment, an instance name, a status detail, a step
    or document name, an S3 key) as safe, one-line text: `clean`, line breaks and runs of
    whitespace as one space, at most `limit` characters. Anything that is not a string is ""."""
    if not isinstance(value, str) or not value:
        return ""
    return cut(" ".join(clean(value).split()), limit)


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
