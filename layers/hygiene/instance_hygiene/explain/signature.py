"""`signature`: the grouping key of a failure reason, with what differs between hosts removed. Pure."""

import re

__all__ = ["signature"]

_SIGNATURE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"(?<![a-z0-9])m?i-[0-9a-f]{8}(?:[0-9a-f]{9})?(?![a-z0-9])"), "<instance>"),
    (re.compile(r"(?<![a-z0-9])ip-[0-9]{1,3}-[0-9]{1,3}-[0-9]{1,3}-[0-9]{1,3}(?![0-9])"), "<host>"),
    (re.compile(r"(?<![a-z0-9])ec2amaz-[a-z0-9]{4,15}(?![a-z0-9])"), "<host>"),
    (
        re.compile(
            r"(?<![0-9])[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[t ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
            r"(?:z|[+-][0-9]{2}:?[0-9]{2})?)?(?![0-9])"
        ),
        "<time>",
    ),
    (re.compile(r"(?<![0-9])[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4}(?![0-9])"), "<date>"),
    (re.compile(r"(?<![0-9])[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?![0-9])"), "<time>"),
    (re.compile(r"(?<![0-9.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?::[0-9]{1,5})?(?![0-9])"), "<ip>"),
    # HRESULT-shaped failure codes identify the failure kind: kept. Other hex is noise.
    (re.compile(r"(?<![a-z0-9])0x(?![89c][0-9a-f]{7}(?![0-9a-f]))[0-9a-f]++"), "<hex>"),
)
_LONG_HEX = re.compile(r"(?<![a-z0-9])[0-9a-f]{8,}+(?![a-z0-9])")
_SIZE = re.compile(r"(?<![a-z0-9_])[0-9]++(?:\.[0-9]++)*+[ ]?(?:[kmgtp]i?b|bytes?)(?![a-z])")
_PERCENT = re.compile(r"(?<![a-z0-9_])[0-9]++(?:\.[0-9]++)?%")
_NUMBER = re.compile(
    r"(?<![a-z0-9_])(?<!exit code )(?<!exit status )(?<!exit code -)(?<!exit status -)"
    r"[0-9]++(?:\.[0-9]++)*+(?!x[0-9a-f])"
)


def _hex_run(match: re.Match[str]) -> str:
    run = match.group(0)
    return "<hex>" if any(c.isdigit() for c in run) else run


def signature(reason: str) -> str:
    """A grouping key: the reason with the parts that differ between hosts replaced.

    Lowercased, whitespace collapsed; uuids (command ids), instance ids (i-, mi-), EC2 host
    names, dates and times, IPv4 addresses, hex (0x..., runs of 8+ hex digits), sizes,
    percentages and numbers become `<uuid>`, `<instance>`, `<host>`, `<date>`/`<time>`,
    `<ip>`, `<hex>`, `<size>`, `<pct>`, `<n>`. Two things are kept because they tell failure
    kinds apart: HRESULT-shaped codes (0x8xxxxxxx, 0x9..., 0xCxxxxxxx such as 0x80240437) and
    the number after "exit code"/"exit status". Idempotent: signature(signature(x)) equals
    signature(x).
    """
    text = " ".join(reason.lower().split())
    # A replacement can expose a new match (in "0ec2amaz-..." the host name only stands alone
    # once the "0" is "<n>"): repeat until nothing changes. Placeholders never match a rule,
    # so each round only shrinks what is left to replace, and it settles within a few rounds.
    for _ in range(8):
        normalised = _normalise(text)
        if normalised == text:
            break
        text = normalised
    return text


def _normalise(text: str) -> str:
    for pattern, placeholder in _SIGNATURE_RULES:
        text = pattern.sub(placeholder, text)
    text = _LONG_HEX.sub(_hex_run, text)
    text = _SIZE.sub("<size>", text)
    text = _PERCENT.sub("<pct>", text)
    return _NUMBER.sub("<n>", text)
