"""Three renderings of one digest (email text, chat JSON, machine JSON) that always fit SNS. Pure.

Budget: SNS takes 262,144 bytes of UTF-8 including message attributes. When the renderings do not
fit, excerpts shrink first, then groups keep fewer listed instances, then the smallest groups go;
counts, the largest groups' reasons and links always stay, and every failure left out is counted
in `omitted`. Whatever was cut is in the full report written to S3 and linked.

Every rendering is valid UTF-8 (a lone surrogate in any field becomes U+FFFD), and text from
logs or the API cannot add markup to the chat rendering (see `escape_markdown`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from instance_hygiene.digest.model import (
    SEVERITY_ORDER,
    CommandDigest,
    Failure,
    Group,
    severity_rank,
    to_dict,
    trim_groups,
)
from instance_hygiene.events import REGION_PATTERN
from instance_hygiene.secrets.redact import sanitize

SNS_LIMIT_BYTES = 262_144
SUBJECT_MAX = 99
# Room left for message attributes and the JSON envelope of MessageStructure=json.
ENVELOPE_RESERVE = 4_096
EXCERPT_STEPS = (None, 5, 2, 0)
LISTED_STEPS = (None, 50, 10, 3, 1, 0)
EMAIL_INSTANCES_PER_GROUP = 20
NOTE_MAX_CHARS = 500
"""Notes are cut to this in the last-resort rendering (no groups at all)."""

_SUBJECT_UNSAFE = re.compile(r"[^\x20-\x7e]+")
MARKDOWN_SPECIAL = re.compile(r"([\\*_{}\[\]()#+!~])")
# Characters no backslash makes inert in every client: shown as visible look-alikes.
_LOOK_ALIKES = str.maketrans(
    {
        "<": "\u2039",  # single left-pointing angle quotation mark
        ">": "\u203a",  # single right-pointing angle quotation mark
        "@": "\uff20",  # full-width commercial at: no @here, no <@U...>
        "&": "\uff06",  # full-width ampersand: no &lt;!channel&gt; decoded into a mention
        "|": "\u2223",  # divides: no <url|label>, no table row
        "`": "\u02cb",  # modifier letter grave accent: no code span or fence
    }
)
_LINE_BREAKS = re.compile(r"[\n\t\v\f\x85]+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_REGION = re.compile(REGION_PATTERN)
# A host name a mail or chat client would turn into a link: labels and a top-level domain of
# letters (`evil.example.com`, `README.md`; not `libc.so.6`, `kernel-5.10.x86_64`, `10.0.0.1`).
_DOMAIN = re.compile(
    r"(?<![A-Za-z0-9-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}+)\.(?=[A-Za-z0-9]))++[A-Za-z]{2,24}+(?![A-Za-z0-9-])"
)
_HTTP_SCHEME = re.compile(r"(?i)\b(h)tt(ps?)(?=://)")
# Schemes a client links (s3:// is not linked anywhere and stays copyable).
_LINKED_SCHEME = re.compile(
    r"(?i)\b(hxxps?|ftps?|file|wss?|sftp|ssh|git|svn|irc|telnet|ldaps?|smb|vnc|rdp)://"
)
_MAILTO = re.compile(r"(?i)\b(mailto|tel|sms|callto):")
_IPV4 = re.compile(
    r"(?<![0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})(?![0-9.])"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    chat: str
    machine: str
    trimmed: bool

    def sns_message(self) -> str:
        """The MessageStructure=json body: "default" (the digest JSON) serves SQS, Lambda, HTTP and
        email-json, which fall back to it; e-mail gets the text and HTTPS (chat) the chat JSON.
        Each body is in the 256 KiB once, which is why the other protocols are not repeated."""
        return json.dumps(
            {"default": self.machine, "email": self.text, "https": self.chat, "sms": self.subject},
            ensure_ascii=False,
        )


def safe_subject(text: str) -> str:
    """Printable ASCII, one line, under 100 characters (SNS rejects anything else)."""
    flat = _SUBJECT_UNSAFE.sub(" ", text).strip()
    flat = re.sub(r" {2,}", " ", flat)
    if len(flat) > SUBJECT_MAX:
        flat = flat[: SUBJECT_MAX - 3].rstrip() + "..."
    return flat or "Instance hygiene notification"


def headline_status(digest: CommandDigest) -> str:
    """The subject's first word: the worst thing that happened to an instance when it is worse than
    the command's own status (a command the cutoff cancelled, on which two disks were full, is
    FAILED), else the command's status. Only a timed-out or cancelled command is re-headed: a status
    such as Incomplete (a Success with failures under MaxErrors) says more than FAILED would."""
    own = severity_rank(digest.status)
    worst = min((g.severity_rank for g in digest.groups), default=own)
    if 0 < own < len(SEVERITY_ORDER) - 1 and worst < own:  # own: timed out or cancelled
        return SEVERITY_ORDER[worst].replace(" ", "").upper()  # FAILED, TIMEDOUT (the status words)
    return digest.status.upper()


def subject(digest: CommandDigest) -> str:
    counts = digest.counts
    context = f" ({digest.comment})" if digest.comment else ""
    return safe_subject(
        defang(
            f"{headline_status(digest)} {digest.document_name}: "
            f"{counts.not_succeeded} of {counts.targets} instances{context}"
        )
    )


def systems_manager_console(region: str, path: str) -> str:
    """A Systems Manager console page in the region (us-east-1 when unknown or not a region name:
    the region is part of the host name, so nothing else may reach the URL)."""
    region = region if _REGION.fullmatch(region or "") else "us-east-1"
    return f"https://{region}.console.aws.amazon.com/systems-manager/{path}?region={region}"


def console_link(digest: CommandDigest) -> str:
    return systems_manager_console(digest.region, f"run-command/{quote(digest.command_id)}")


def _who(failure: Failure) -> str:
    return (
        f"{inert(failure.instance_name)} ({failure.instance_id})"
        if failure.instance_name
        else failure.instance_id
    )


def _group_text(index: int, group: Group, excerpt_lines: int | None) -> list[str]:
    first = group.failures[0] if group.failures else None
    lines = [f"{index}. {inert(group.reason)}  [{group.count} instance{'s' if group.count != 1 else ''}]"]
    if first is not None and first.next_step:
        lines.append(f"   next step: {inert(first.next_step)}")
    if first is not None:
        steps = group.steps
        where = f"step{'s' if len(steps) > 1 else ''} {', '.join(inert(name) for name in steps) or '-'}"
        code = "-" if first.exit_code is None else str(first.exit_code)
        meaning = f" ({inert(first.exit_meaning)})" if first.exit_meaning else ""
        lines.append(
            f"   status {inert(first.status)}/{inert(first.status_details)}, {where}, "
            f"exit code {code}{meaning}"
        )
        p = first.patch
        if p is not None and p.installed is None and p.missing is None and p.failed is None:
            lines.append("   patches: counts unknown (the run failed before it could count)")
        elif p is not None:
            lines.append(
                f"   patches: installed {p.installed}, missing {p.missing}, failed {p.failed}, "
                f"pending reboot {p.installed_pending_reboot}"
            )
    shown = group.failures[:EMAIL_INSTANCES_PER_GROUP]
    if shown:
        names = ", ".join(_who(f) for f in shown)
        rest = group.count - len(shown)
        lines.append(f"   instances: {names}{f' and {rest} more' if rest > 0 else ''}")
    elif group.count:
        lines.append(f"   instances: {group.count} (listed in the full report)")
    if first is not None:
        excerpt = first.excerpt if excerpt_lines is None else first.excerpt[:excerpt_lines]
        if excerpt:
            lines.append(f"   log ({_log_label(first)}):")
            lines.extend(f"     | {inert(line)}" for line in excerpt)
        for link in first.log.links:
            lines.append(f"   {as_data(link)}")
    return lines


def _log_label(failure: Failure) -> str:
    if failure.log.source == "api":
        return "API output: first 2,500 characters only"
    if failure.log.complete:
        return f"{failure.log.source}, complete"
    return f"{failure.log.source}, head and tail of {failure.log.bytes_total or 0:,} bytes"


def email_text(digest: CommandDigest) -> str:
    counts = digest.counts
    out = [
        f"{inert(digest.document_name)} {inert(digest.status)}: "
        f"{counts.not_succeeded} of {counts.targets} instances did not succeed"
        + (f" ({inert(digest.comment)})" if digest.comment else ""),
        f"failed {counts.failed}, timed out {counts.timed_out}, cancelled {counts.cancelled}, "
        f"other {counts.other}, succeeded {counts.succeeded}",
        "",
    ]
    for index, group in enumerate(digest.groups, start=1):
        out.extend(_group_text(index, group, digest.excerpt_lines))
        out.append("")
    if digest.notes:
        out.append("Notes:")
        out.extend(f"- {inert(note)}" for note in digest.notes)
        out.append("")
    out.append(f"Command: {digest.command_id}")
    out.append(f"Console: {console_link(digest)}")
    if digest.output_bucket:
        prefix = (digest.output_prefix or "").strip("/")
        out.append(f"Logs:    {as_data(f's3://{digest.output_bucket}/{prefix}/{digest.command_id}/')}")
    if digest.report_uri:
        out.append(f"Full report (nothing cut): {as_data(digest.report_uri)}")
    if digest.omitted:
        out.append(f"{digest.omitted} failure(s) are counted above but not listed, to fit the message size.")
    return _CONTROL.sub("", "\n".join(out)) + "\n"


def defang(text: str) -> str:
    """Links as text: `https://evil.example.com` becomes `hxxps[:]//evil[.]example[.]com`, a bare
    host `evil[.]example[.]com`, an address `203[.]0[.]113[.]7`, `mailto:` `mailto[:]`, so no
    client turns quoted text into a link (`s3://` is linked by none and stays as it is)."""
    if "." not in text and ":" not in text:
        return text
    text = _LINKED_SCHEME.sub(r"\1[:]//", _HTTP_SCHEME.sub(r"\1xx\2", text))
    text = _MAILTO.sub(r"\1[:]", text)
    text = _IPV4.sub(_dots, text)
    return _DOMAIN.sub(_host, text)


def _dots(match: re.Match[str]) -> str:
    return match.group(0).replace(".", "[.]")


def _host(match: re.Match[str]) -> str:
    """A host a client would link: its top-level domain is one (a country code, or a generic
    domain clients know), and it is not a file in a path (`/var/run/yum.pid`, `C:\\x\\a.ps`)."""
    text, start = match.string, match.start()
    in_path = start > 0 and text[start - 1] in "/\\" and not text.endswith("//", 0, start)
    tld = match.group(0).rsplit(".", 1)[1].lower()
    linked = tld in GENERIC_TLDS or (len(tld) == 2 and tld not in FILE_EXTENSIONS)
    return _dots(match) if linked and not in_path else match.group(0)


GENERIC_TLDS = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "mil",
        "int",
        "info",
        "biz",
        "name",
        "pro",
        "mobi",
        "asia",
        "tel",
        "travel",
        "jobs",
        "aero",
        "coop",
        "museum",
        "arpa",
        "io",
        "ai",
        "app",
        "dev",
        "xyz",
        "online",
        "site",
        "top",
        "shop",
        "store",
        "cloud",
        "tech",
        "page",
        "link",
        "click",
        "help",
        "live",
        "email",
        "blog",
        "news",
        "club",
        "space",
        "fun",
        "icu",
        "vip",
        "work",
        "wiki",
        "ninja",
        "lol",
        "zip",
        "mov",
        "web",
        "host",
        "website",
        "digital",
        "network",
        "systems",
        "solutions",
        "services",
        "support",
        "security",
        "run",
        "download",
        "bot",
        "chat",
    ]
)
"""Generic top-level domains that mail and chat clients link (with every two-letter country code)."""
FILE_EXTENSIONS = frozenset(
    ["md", "py", "sh", "pl", "so", "rs", "ps", "ts", "cs", "js", "gz", "xz", "bz", "db", "ko", "mo"]
)
"""Two letters that end file names in logs far more often than host names: not defanged."""


def inert(text: str) -> str:
    """Untrusted text (log lines, names, keys, comments) as one line of plain text for the e-mail:
    no control characters, no line break that could add a line, no link a client would follow."""
    return defang(_LINE_BREAKS.sub(" ", sanitize(text)))


def as_data(text: str) -> str:
    """A value shown as data, not prose (an S3 key, a URI built from one): inert and in quotes."""
    return json.dumps(inert(text), ensure_ascii=False)


# What starts a list item at the start of a field (a nextSteps entry is a line of its own).
_LIST_MARKER = re.compile(r"\A([ \t]{0,3}+)(?:(-)|([0-9]{1,9}+)([.)]))(?=[ \t]|\Z)")


def _inert_marker(match: re.Match[str]) -> str:
    if match.group(2):
        return f"{match.group(1)}\u2010"  # hyphen
    return f"{match.group(1)}{match.group(3)}{'\uff0e' if match.group(4) == '.' else '\uff09'}"


def escape_markdown(text: str) -> str:
    """Text from logs or the API as one inert line of client-markdown.

    Whatever renders it (Slack mrkdwn, Teams, CommonMark), it cannot mention anyone, link
    anywhere or start a block:
    - escape sequences and control characters go (`redact.sanitize`), line breaks and tabs
      become spaces, so no heading, list, quote or code block can start;
    - `<` `>` `@` `&` `|` and the backtick become visible look-alikes (angle quotation marks,
      full-width at and ampersand, U+2223, U+02CB): no `<!channel>`, `<@U123>`, `<url|text>`,
      `<at>`, `@here`, `&lt;!here&gt;` or code span, whether or not the client honours
      backslash escapes, and no invisible character in anything a reader may copy;
    - links are defanged (`defang`: `hxxps[:]//evil[.]example[.]com`), so a URL or a host name
      in a log is shown, not linked;
    - every other markdown character is backslash-escaped (`*`, `_`, `[`, `#`, `~`, ...), and a
      list marker at the start (`- `, `1. `) becomes a look-alike (U+2010, U+FF0E);
      `-`, `=` and `1.` only mean something at the start of a line, which this never is (the
      renderings put a bullet or `_` before it).
    """
    flat = _LIST_MARKER.sub(_inert_marker, _LINE_BREAKS.sub(" ", sanitize(text)).translate(_LOOK_ALIKES))
    # Defanged after escaping: its brackets are plain text, not markup to escape. In chat every
    # scheme is defanged (a client may link any `scheme://`).
    return defang(MARKDOWN_SPECIAL.sub(r"\\\1", flat)).replace("://", "[:]//")


def utf8_safe(text: str) -> str:
    """`text` with lone surrogates (from JSON `\\udXXX` escapes or undecodable bytes) as U+FFFD,
    so that it always encodes to UTF-8."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def chat_json(digest: CommandDigest) -> str:
    """Amazon Q Developer in chat applications custom notification (version 1.0, source custom)."""
    counts = digest.counts
    bullets = []
    for group in digest.groups[:10]:
        first = group.failures[0] if group.failures else None
        where = f" (step {first.step}, exit {first.exit_code})" if first and first.step else ""
        bullets.append(f"• *{group.count}×* {escape_markdown(group.reason)}{escape_markdown(where)}")
        if first is not None and first.next_step:
            bullets.append(f"    next step: {escape_markdown(first.next_step)}")
    if len(digest.groups) > 10:
        bullets.append(f"• … {len(digest.groups) - 10} more kinds of failure")
    description = "\n".join(
        [
            f"{counts.not_succeeded} of {counts.targets} instances did not succeed "
            f"(failed {counts.failed}, timed out {counts.timed_out}, cancelled {counts.cancelled}).",
            *bullets,
            *(f"_{escape_markdown(note)}_" for note in digest.notes[:3]),
        ]
    )
    first_steps = [
        escape_markdown(g.failures[0].next_step)
        for g in digest.groups[:3]
        if g.failures and g.failures[0].next_step
    ]
    next_steps = [*dict.fromkeys(first_steps), f"Open the command: {console_link(digest)}"]
    if digest.report_uri:
        next_steps.append(f"Full report: {escape_markdown(digest.report_uri)}")
    payload: dict[str, Any] = {
        "version": "1.0",
        "source": "custom",
        "id": f"{digest.command_id}:{digest.status}",
        "content": {
            "textType": "client-markdown",
            "title": f":rotating_light: {escape_markdown(subject(digest))}",
            "description": description[:8000],
            "nextSteps": next_steps,
            "keywords": [escape_markdown(digest.status), escape_markdown(digest.document_name[:64])],
        },
        "metadata": {
            "threadId": digest.command_id,
            "summary": escape_markdown(subject(digest)),
            "eventType": "CommandFailed",
            "relatedResources": [digest.command_id],
            "additionalContext": {
                "failed": str(counts.failed),
                "timed_out": str(counts.timed_out),
                "cancelled": str(counts.cancelled),
                "targets": str(counts.targets),
            },
        },
    }
    return json.dumps(payload, ensure_ascii=False)


def render(digest: CommandDigest, trimmed: bool = False) -> Rendered:
    return Rendered(
        subject=subject(digest),
        text=utf8_safe(email_text(digest)),
        chat=utf8_safe(chat_json(digest)),
        machine=utf8_safe(json.dumps(to_dict(digest), ensure_ascii=False)),
        trimmed=trimmed,
    )


def message_bytes(rendered: Rendered) -> int:
    return len(rendered.sns_message().encode("utf-8"))


def fit(
    digest: CommandDigest,
    limit: int = SNS_LIMIT_BYTES - ENVELOPE_RESERVE,
    renderer: Callable[[CommandDigest, bool], Rendered] = render,
) -> tuple[CommandDigest, Rendered]:
    """The fullest rendering within `limit` bytes: shrink excerpts, then listed instances."""
    for listed in LISTED_STEPS:
        groups = digest.groups if listed is None else trim_groups(digest.groups, listed)
        for excerpt in EXCERPT_STEPS:
            candidate = replace(digest, groups=groups, excerpt_lines=excerpt)
            trimmed = listed is not None or excerpt is not None
            rendered = renderer(candidate, trimmed)
            if message_bytes(rendered) <= limit:
                return candidate, rendered
    # Even one line per group is too much: keep counts, the biggest groups' reasons and links;
    # the failures of the groups left out are counted in `omitted`. Last resort: no group at
    # all and shortened notes.
    keep = len(digest.groups)
    while keep > 0:
        keep //= 2
        left_out = digest.groups[keep:]
        notes = digest.notes if keep else tuple(_cut(note, NOTE_MAX_CHARS) for note in digest.notes[:10])
        candidate = replace(
            digest,
            groups=trim_groups(digest.groups[:keep], 0),
            excerpt_lines=0,
            dropped_failures=digest.dropped_failures + sum(group.count for group in left_out),
            notes=(*notes, f"{len(left_out)} smaller group(s) of failures are only in the full report."),
        )
        rendered = renderer(candidate, True)
        if message_bytes(rendered) <= limit:
            return candidate, rendered
    raise ValueError("digest cannot fit an SNS message even without its groups")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
