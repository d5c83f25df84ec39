"""Chat rendering: Amazon Q Developer in chat applications (formerly AWS Chatbot) custom
notifications for Slack and Microsoft Teams, built as a validated model. Pure.

The schema is the one of the AWS page "Custom notifications using Amazon Q Developer in chat
applications" (https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html,
sections "Event schema", "Parameter details", "OpenAPI schema"): `version` "1.0" and `source`
"custom" are required, `id` is optional, `content` holds `textType` (only "client-markdown" is
supported), `title`, `description`, `nextSteps` and `keywords`; optional `metadata` holds
`threadId`, `summary`, `eventType`, `relatedResources` and `additionalContext` (a string to
string map). Messages with the same `threadId` are threaded together. The page says a payload
that does not conform is not delivered, so every payload here is validated before it is dumped
and cut to fit first: nothing raises for long input.

Limits. The stored copy of that page available to us ends before its parameter table, so the
character limits below are taken from public code that restates the page (a pydantic client
citing the page: description 8,000, title 250, each next step 350, each keyword 75; an AWS
Control Tower pipeline helper's tests: title 250, description 8,000). No public source gave a
maximum number of next steps, keywords or related resources, nor sizes for `additionalContext`,
`summary`, `threadId`, `eventType` or `id`: those keep the model's type checks only, and we stay
small (at most 5 next steps, 2 keywords, a few short context values). Lengths are in characters.

client-markdown is "rendered in the target chat platform's markdown" (same page): Slack mrkdwn
(api.slack.com/reference/surfaces/formatting) has no backslash escape, treats `&`, `<`, `>`
as control characters, links with `<url|label>` and shows CommonMark's `[label](url)` as
literal text; Teams renders a subset of Markdown. What works in both, and is what we use:
- our own links (console pages we build) as bare `https://` URLs, which both clients link;
- untrusted text (log lines, names, reasons, comments) as plain words, with any token a client
  could format or link put in an inline code span, shown literally by both (`chat_text`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from instance_hygiene.digest.compliance import describe as describe_compliance
from instance_hygiene.digest.model import CommandDigest, Unread
from instance_hygiene.digest.summary import NightSummary
from instance_hygiene.digest.window import WindowDigest, top_causes
from instance_hygiene.render import command as command_render
from instance_hygiene.render import summary as summary_render
from instance_hygiene.render import window as window_render
from instance_hygiene.secrets.redact import sanitize

TITLE_MAX = 250
DESCRIPTION_MAX = 8_000
NEXT_STEP_MAX = 350
KEYWORD_MAX = 75

GROUPS_SHOWN = 10
NOTES_SHOWN = 3
REASON_MAX = 500
NEXT_STEP_LINE_MAX = 300
NOTE_MAX = 500
NAME_MAX = 200
CUT = "\u2026"  # horizontal ellipsis: where untrusted text was cut

# --------------------------------------------------------------------------- the model

_Step = Annotated[str, StringConstraints(min_length=1, max_length=NEXT_STEP_MAX)]
_Keyword = Annotated[str, StringConstraints(min_length=1, max_length=KEYWORD_MAX)]


class _Strict(BaseModel):
    """Field names are the wire names (camelCase); unknown fields and coercion are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class NotificationContent(_Strict):
    """`content`: what the channel shows. `description` is the only required field in it."""

    textType: Literal["client-markdown"] = "client-markdown"
    title: str | None = Field(default=None, max_length=TITLE_MAX)
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX)
    nextSteps: list[_Step] | None = None
    keywords: list[_Keyword] | None = None


class NotificationMetadata(_Strict):
    """`metadata`: threading and context; no documented limits (see the module docstring)."""

    threadId: str | None = Field(default=None, min_length=1)
    summary: str | None = None
    eventType: str | None = None
    relatedResources: list[str] | None = None
    additionalContext: dict[str, str] | None = None


class CustomNotification(_Strict):
    """A custom notification, version 1.0, source custom."""

    version: Literal["1.0"]
    source: Literal["custom"]
    id: str | None = None
    content: NotificationContent
    metadata: NotificationMetadata | None = None

    def dumps(self) -> str:
        """The wire JSON: unset fields left out, non-ASCII kept as UTF-8."""
        return self.model_dump_json(exclude_none=True)


# --------------------------------------------------------------------------- untrusted text

# Characters a client could act on even inside code: visible look-alikes, never an invisible
# character and never a backslash (Slack shows `\(` as it is).
_LOOK_ALIKES = str.maketrans(
    {
        "<": "\u2039",  # single left-pointing angle quotation mark: no <!here>, <@U1>, <url|x>
        ">": "\u203a",  # single right-pointing angle quotation mark: no quote, no <at>
        "@": "\uff20",  # full-width commercial at: no @here, @channel
        "&": "\uff06",  # full-width ampersand: no &lt;!channel&gt; decoded into a mention
        "`": "\u02cb",  # modifier letter grave accent: no code span of the log's own
    }
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# A word a person reads as a word: letters or digits (not both), inner hyphens or apostrophes,
# at most one leading `(`, one trailing `)` and one trailing `.,:;!?`. None of these can start
# formatting or a link in mrkdwn or Markdown: a parenthesis only makes a link right after `]`,
# and `]` never appears outside a code span.
_PLAIN_WORD = re.compile(r"\(?[^\W_]++(?:['\u2019-][^\W_]++)*+\)?[.,:;!?]?")
_LIST_MARKER = re.compile(r"\(?[0-9]{1,9}[.)]")
_PUNCTUATION = re.compile(r"[(),.;:!?]{1,3}")


def _visible(char: re.Match[str]) -> str:
    """A non-ASCII character, or nothing when it is a format character (Cf: zero-width, bidi,
    tags) or unassigned (Cn), which no client draws."""
    return "" if unicodedata.category(char.group()) in {"Cf", "Cn"} else char.group()


def _flat(text: str) -> str:
    """One line of visible characters: no controls, escapes, format characters, line breaks."""
    return " ".join(_NON_ASCII.sub(_visible, sanitize(text)).split())


def _plain_word(token: str, first: bool) -> bool:
    if _PUNCTUATION.fullmatch(token):
        return True  # `(`, `);` alone: no markup without a `]` before them, and `]` is in a span
    if not _PLAIN_WORD.fullmatch(token) or "\u02cb" in token:  # a log's backtick: shown as data
        return False
    if any(c.isdigit() for c in token) and any(c.isalpha() for c in token):
        return False  # an id, a version, a code: shown as data
    return not (first and _LIST_MARKER.fullmatch(token))  # "1." would start a list


def _markdown(flat: str) -> str:
    """Plain words as they are; every run of other tokens in one code span."""
    out: list[str] = []
    run: list[str] = []
    for index, token in enumerate(flat.split(" ")):
        if _plain_word(token, first=index == 0):
            if run:
                out.append(f"`{' '.join(run)}`")
                run = []
            out.append(token)
        else:
            run.append(token)
    if run:
        out.append(f"`{' '.join(run)}`")
    return " ".join(out)


def chat_text(text: str, max_chars: int = DESCRIPTION_MAX) -> str:
    """Untrusted text as one inert line of client-markdown, at most `max_chars` long.

    Control and escape characters go (`redact.sanitize`), so do invisible format characters
    (zero-width, bidi, BOM); line breaks become spaces, so no heading, list, quote, table or
    fence can start. `<` `>` `@` `&` and the backtick become visible look-alikes, so no
    mention (`<!channel>`, `<@U123>`, `@here`, `&lt;!here&gt;`, Teams `<at>`) or link is
    possible even where a client parses inside code. URLs, hosts and addresses are defanged
    (`render.command.defang`, and every `scheme://` as `scheme[:]//`): whether Slack links a
    host inside inline code is not documented, so we do not rely on it. Plain words stay plain;
    anything else (markdown characters, paths, ids, defanged hosts) goes in a code span. When
    cut, the text ends in an ellipsis and its code spans stay balanced.
    """
    flat = _flat(text)[: max_chars + 1]  # rendering only lengthens it: the rest never shows
    if not flat:
        return ""
    shown = command_render.defang(flat.translate(_LOOK_ALIKES)).replace("://", "[:]//")
    keep = min(len(shown), max_chars)
    while True:
        rendered = _markdown(shown if keep >= len(shown) else shown[:keep].rstrip() + CUT)
        if len(rendered) <= max_chars or keep <= 0:
            return rendered if len(rendered) <= max_chars else ""
        keep -= max(1, len(rendered) - max_chars)


def next_step_text(text: str, max_chars: int) -> str:
    """A next step (the catalogue's words, with commands in backticks) for client-markdown: its
    own code spans kept as code (`dnf clean metadata` stays one span), each with the look-alikes
    and defanging of `chat_text`; the words between them as `chat_text`. A step whose backticks
    do not pair, or too long for `max_chars`, is `chat_text` whole."""
    parts = _flat(text).split("`")
    if len(parts) % 2 == 0 or len(parts) == 1:
        return chat_text(text, max_chars)
    pieces = []
    for index, part in enumerate(parts):
        if index % 2:  # inside one of the step's own spans
            code = command_render.defang(part.strip().translate(_LOOK_ALIKES)).replace("://", "[:]//")
            pieces.append(f"`{code}`" if code else "")
        elif part.strip():  # the words around them, with the spaces that separate them kept
            lead = " " if part[0].isspace() else ""
            trail = " " if part[-1].isspace() else ""
            pieces.append(f"{lead}{chat_text(part, max_chars)}{trail}")
    rendered = "".join(pieces).strip()
    return rendered if len(rendered) <= max_chars else chat_text(text, max_chars)


def _metadata_text(text: str) -> str:
    """A value not shown as prose (ids, keys): one line of visible characters, with the same
    look-alikes as `chat_text` in case a client shows it."""
    return _flat(text).translate(_LOOK_ALIKES)


def _description(lines: list[str], cut_note: str) -> str:
    """Our own lines, whole, within DESCRIPTION_MAX; a last line says when some were left out."""
    kept: list[str] = []
    length = -1  # of "\n".join(kept)
    room = DESCRIPTION_MAX - len(cut_note) - 1
    for line in lines:
        if length + 1 + len(line) > room:
            kept.append(cut_note)
            break
        kept.append(line)
        length += 1 + len(line)
    return "\n".join(kept) or cut_note


def _own_links(entries: list[str]) -> list[str]:
    """Next steps holding our links: a step too long for the limit is left out, never cut
    (a cut URL would lead somewhere else)."""
    return [entry for entry in entries if 0 < len(entry) <= NEXT_STEP_MAX]


_S3_URI = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/([!-~]{1,1024})")


def _report_step(report_uri: str, region: str) -> str:
    """The full report: its S3 console page when `report_uri` is one of our s3:// URIs, else the
    URI as data (a value that is not an S3 URI is not trusted as one)."""
    label = "Full report: "
    match = _S3_URI.fullmatch(report_uri)
    if match is None or any(c in match.group(2) for c in "<>|`"):
        return label + chat_text(report_uri, NEXT_STEP_MAX - len(label))
    return label + command_render.s3_console_object_url(match.group(1), match.group(2), region)


# --------------------------------------------------------------------------- a command


def _group_lines(digest: CommandDigest) -> list[str]:
    lines: list[str] = []
    for group in digest.groups[:GROUPS_SHOWN]:
        first = group.failures[0] if group.failures else None
        where = ""
        if first is not None and first.step:
            code = "-" if first.exit_code is None else str(first.exit_code)
            where = f" (step {chat_text(first.step, NAME_MAX)}, exit {code})"
        history = digest.history.get(group.signature)
        since = f" — _{chat_text(history, NAME_MAX)}_" if history else ""
        lines.append(f"• *{group.count}×* {chat_text(group.reason, REASON_MAX)}{where}{since}")
        if first is not None and first.next_step and _flat(first.next_step):
            lines.append(f"    next step: {next_step_text(first.next_step, NEXT_STEP_LINE_MAX)}")
    if len(digest.groups) > GROUPS_SHOWN:
        lines.append(f"• … {len(digest.groups) - GROUPS_SHOWN} more kinds of failure")
    return lines


_ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]")  # IAM CreateAccountAlias's pattern
_ACCOUNT = re.compile(r"[0-9]{12}")


def _night(
    account: str, alias: str | None, region: str, window_name: str | None, local_date: str | None
) -> str:
    """Where and when, ids in code spans: account (alias), region, window, local date, as far as
    known; a value not of its documented shape is shown as untrusted text."""

    def code(value: str, shape: re.Pattern[str]) -> str:
        return f"`{value}`" if shape.fullmatch(value) else chat_text(value, NAME_MAX)

    parts = []
    if account:
        named = f" ({code(alias, _ALIAS)})" if alias else ""
        parts.append(f"account {code(account, _ACCOUNT)}{named}")
    if command_render.is_region(region):  # anything else is no region: left out
        parts.append(f"`{region}`")
    if window_name:
        parts.append(f"window {chat_text(window_name, NAME_MAX)}")
    if local_date:
        parts.append(code(local_date, _DATE))
    return ", ".join(parts)


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def command_payload(digest: CommandDigest) -> CustomNotification:
    """The custom notification of one command's digest: counts, up to 10 groups (count, reason,
    step and exit code, next step), up to 3 notes; next steps, the console and the full report
    as next steps. Threaded by the window execution that sent it (one thread a night), else by
    the command."""
    counts = digest.counts
    where = _night(digest.account, digest.account_alias, digest.region, digest.window_name, digest.local_date)
    if digest.unread:
        return _unread_payload(
            what=f"command {_id_text(digest.command_id, _ID)}",
            where=where,
            status=digest.status,
            unread=digest.unread,
            notes=digest.notes,
            title=command_render.subject(digest),
            open_step=f"Open the command: {command_render.console_link(digest)}",
            identity=(digest.command_id, "CommandNotRead", digest.command_id),
            thread=digest.window_execution_id or digest.command_id,
            keywords=[digest.status, digest.document_name],
        )
    description = _description(
        [
            (f"{where}: " if where else "")
            + f"{counts.not_succeeded} of {counts.targets} instances did not succeed "
            f"(failed {counts.failed}, timed out {counts.timed_out}, cancelled {counts.cancelled}).",
            *(chat_text(line, NOTE_MAX) for line in digest.history_notes if _flat(line)),
            *_group_lines(digest),
            *(f"_{chat_text(note, NOTE_MAX)}_" for note in digest.notes[:NOTES_SHOWN] if _flat(note)),
        ],
        "… more in the full report (cut to fit the chat message)",
    )
    first_steps = [
        next_step_text(g.failures[0].next_step, NEXT_STEP_MAX)
        for g in digest.groups[:3]
        if g.failures and g.failures[0].next_step and _flat(g.failures[0].next_step)
    ]
    own = [f"Open the command: {command_render.console_link(digest)}"]
    if digest.report_uri:
        own.append(_report_step(digest.report_uri, digest.report_region or digest.region))
    subject = command_render.subject(digest)
    title_prefix = ":rotating_light: "
    thread = _metadata_text(digest.window_execution_id or "") or _metadata_text(digest.command_id)
    keywords = [chat_text(digest.status, KEYWORD_MAX), chat_text(digest.document_name, KEYWORD_MAX)]
    return CustomNotification.model_validate(
        {
            "version": "1.0",
            "source": "custom",
            "id": _metadata_text(f"{digest.command_id}:{digest.status}"),
            "content": {
                "textType": "client-markdown",
                "title": title_prefix + chat_text(subject, TITLE_MAX - len(title_prefix)),
                "description": description,
                "nextSteps": [*dict.fromkeys(first_steps), *_own_links(own)],
                "keywords": [k for k in dict.fromkeys(keywords) if k] or None,
            },
            "metadata": {
                "threadId": thread or None,
                "summary": chat_text(subject),
                "eventType": "CommandFailed",
                "relatedResources": [_metadata_text(digest.command_id)],
                "additionalContext": {
                    "failed": str(counts.failed),
                    "timed_out": str(counts.timed_out),
                    "cancelled": str(counts.cancelled),
                    "targets": str(counts.targets),
                },
            },
        }
    )


_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_WINDOW = re.compile(r"mw-[0-9a-f]{17}")


def _id_text(value: str, shape: re.Pattern[str]) -> str:
    """An id in a code span when it has its documented shape, else as untrusted text."""
    return f"`{value}`" if shape.fullmatch(value) else chat_text(value, NAME_MAX)


def _unread_payload(
    *,
    what: str,
    where: str,
    status: str,
    unread: Unread,
    notes: tuple[str, ...],
    title: str,
    open_step: str,
    identity: tuple[str, str, str],
    thread: str,
    keywords: list[str],
) -> CustomNotification:
    """The custom notification of a command or window execution that could not be read: where,
    what and why, the next step first among the next steps. `identity` is (id, eventType,
    related resource)."""
    lines = [
        (f"{where}: " if where else "") + f"{what} ({chat_text(status, NAME_MAX)}) could not be read.",
        chat_text(unread.reason, REASON_MAX),
        *(f"_{chat_text(note, NOTE_MAX)}_" for note in notes[:NOTES_SHOWN] if _flat(note)),
    ]
    key, event_type, resource = identity
    return CustomNotification.model_validate(
        {
            "version": "1.0",
            "source": "custom",
            "id": _metadata_text(f"{key}:{status}"),
            "content": {
                "textType": "client-markdown",
                "title": chat_text(title, TITLE_MAX),
                "description": _description(lines, "… more in the e-mail"),
                "nextSteps": [next_step_text(unread.next_step, NEXT_STEP_MAX), *_own_links([open_step])],
                "keywords": [k for k in dict.fromkeys(chat_text(k, KEYWORD_MAX) for k in keywords) if k]
                or None,
            },
            "metadata": {
                "threadId": _metadata_text(thread) or None,
                "summary": chat_text(title),
                "eventType": event_type,
                "relatedResources": [_metadata_text(resource)],
            },
        }
    )


def command_chat(digest: CommandDigest) -> str:
    """`command_payload` as the JSON body of the HTTPS (chat) protocol."""
    return command_payload(digest).dumps()


# --------------------------------------------------------------------------- a window


def window_payload(report: WindowDigest) -> CustomNotification:
    """The custom notification of one maintenance-window execution: a line per task (priority,
    name, status, details) under where and when it ran, and the window history as the next step.
    Threaded by the execution, the thread its commands' notifications join."""
    where = _night(report.account, report.account_alias, report.region, report.window_name, report.local_date)
    if report.unread:
        return _unread_payload(
            what=(
                f"window {_id_text(report.window_id, _WINDOW)} "
                f"execution {_id_text(report.window_execution_id, _ID)}"
            ),
            where=where,
            status=report.status,
            unread=report.unread,
            notes=report.notes,
            title=window_render.subject(report),
            open_step=f"Open the window execution: {window_render.console_link(report)}",
            identity=(report.window_execution_id, "MaintenanceWindowExecutionNotRead", report.window_id),
            thread=report.window_execution_id,
            keywords=[report.status, report.window_id],
        )
    lines = [
        f"• P{t.priority} *{chat_text(t.name, NAME_MAX)}*: {chat_text(t.status, NAME_MAX)}"
        + (f" ({chat_text(window_render.counts_text(t.counts), NAME_MAX)})" if t.counts else "")
        + (f" — {chat_text(t.status_details, REASON_MAX)}" if _flat(t.status_details) else "")
        + (
            f"; patch compliance: {chat_text(describe_compliance(t.compliance), REASON_MAX)}"
            if t.compliance
            else ""
        )
        for t in report.tasks
    ]
    causes, omitted = top_causes(report)
    for cause in causes:
        lines.append(f"• *{cause.count}×* {chat_text(cause.reason, REASON_MAX)} ({cause.outcome})")
        if cause.next_step and _flat(cause.next_step):
            lines.append(f"    next step: {next_step_text(cause.next_step, NEXT_STEP_LINE_MAX)}")
    if omitted:
        lines.append(f"• … {omitted} more causes in the commands' full reports")
    if not lines:
        lines = [chat_text(report.status_details or report.status, REASON_MAX) or "no tasks"]
    if where:
        lines.insert(0, f"{where}: execution {chat_text(report.status, NAME_MAX)}")
    subject = window_render.subject(report)
    return CustomNotification.model_validate(
        {
            "version": "1.0",
            "source": "custom",
            "id": _metadata_text(f"{report.window_execution_id}:{report.status}"),
            "content": {
                "textType": "client-markdown",
                "title": chat_text(subject, TITLE_MAX),
                "description": _description(lines, "… more tasks in the window history"),
                "nextSteps": _own_links([f"Open the window execution: {window_render.console_link(report)}"]),
                "keywords": [
                    k
                    for k in dict.fromkeys(
                        [chat_text(report.status, KEYWORD_MAX), chat_text(report.window_id, KEYWORD_MAX)]
                    )
                    if k
                ]
                or None,
            },
            "metadata": {
                "threadId": _metadata_text(report.window_execution_id) or None,
                "summary": chat_text(subject),
                "eventType": "MaintenanceWindowExecution",
                "relatedResources": [_metadata_text(report.window_id)],
            },
        }
    )


def window_chat(report: WindowDigest) -> str:
    """`window_payload` as the JSON body of the HTTPS (chat) protocol."""
    return window_payload(report).dumps()


# --------------------------------------------------------------------------- the morning summary


def summary_payload(summary: NightSummary) -> CustomNotification:
    """The custom notification of a night across the accounts: a line per account needing
    attention, the top causes, who reported nothing. Its own thread per night."""
    lines = [f"• {chat_text(summary_render.account_line(a), REASON_MAX)}" for a in summary.attention]
    for cause in summary.causes:
        lines.append(
            f"• *{cause.count}×* {chat_text(cause.reason, REASON_MAX)} ({cause.outcome}, "
            f"{len(cause.accounts)} account{'s' if len(cause.accounts) != 1 else ''})"
        )
        if cause.next_step and _flat(cause.next_step):
            lines.append(f"    next step: {next_step_text(cause.next_step, NEXT_STEP_LINE_MAX)}")
    for silent in (*summary.silent, *summary.never_reported):
        where = summary_render.account_label(silent.account, silent.alias)
        where += f" in {silent.region}" if silent.region else ""
        lines.append(f"• reported nothing: {chat_text(where, NAME_MAX)}")
    if not lines:
        lines = [f"All {len(summary.accounts)} accounts reported; every instance patched and healthy."]
    title = summary_render.subject(summary)
    return CustomNotification.model_validate(
        {
            "version": "1.0",
            "source": "custom",
            "id": _metadata_text(f"summary:{summary.night}"),
            "content": {
                "textType": "client-markdown",
                "title": chat_text(title, TITLE_MAX),
                "description": _description(lines, "… more in the summary's digest JSON"),
                "keywords": [chat_text(summary.night, KEYWORD_MAX)],
            },
            "metadata": {
                "threadId": _metadata_text(f"summary-{summary.night}"),
                "summary": chat_text(title),
                "eventType": "NightSummary",
                "relatedResources": [_metadata_text(summary.organization_id)]
                if summary.organization_id
                else None,
            },
        }
    )


def summary_chat(summary: NightSummary) -> str:
    """`summary_payload` as the JSON body of the HTTPS (chat) protocol."""
    return summary_payload(summary).dumps()
