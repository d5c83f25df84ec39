"""Command output logs (pure): where they are (one bounded listing per command), bounded head/tail reads.

Run Command writes `<prefix>/<command-id>/<instance-id>/<action>/<step>/stdout|stderr`, with ':'
removed from the action and step names, and only for non-empty streams. A local copy made with
`aws s3 sync s3://BUCKET/PREFIX/ID DIR` has the same layout under DIR. Either way a stream is read
as a bounded head and tail, so a 2 GB log costs what a 2 KB one does.

The listing looks only where the digest needs it: the folders of the failed instances (aws/s3_logs.py
pages it over S3). It keeps the failed step's streams and nothing else, jumps (StartAfter) over
every other instance's folder, and stops looking in one failed instance's folder after
MAX_KEYS_PER_INSTANCE keys, so an instance that fills its folder with a million objects costs a
page or two, not the function's memory.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from instance_hygiene.explain.summarise import StreamText

HEAD_BYTES = 16 * 1024
TAIL_BYTES = 48 * 1024
STREAMS = ("stdout", "stderr")
MAX_KEYS_PER_INSTANCE = 1000
"""Keys looked at in one failed instance's folder before the listing skips the rest of it. A step
leaves at most two streams, so only a folder flooded by something else than the agent gets near it."""
LogSourceName = Literal["s3", "local", "api", "none"]


def key_name(name: str) -> str:
    """A plugin or step name as the agent writes it into an S3 key (every ':' removed)."""
    return name.replace(":", "")


@dataclass(frozen=True)
class StreamRef:
    """One stored stream: where it is and how big it is."""

    location: str
    """The S3 key, or the file path for a local copy."""
    size: int


@dataclass(frozen=True)
class StepStreams:
    action: str
    stdout: StreamRef | None = None
    stderr: StreamRef | None = None


@dataclass(frozen=True)
class StreamRead:
    text: StreamText
    bytes_total: int
    bytes_read: int
    requests: int


class StreamGone(FileNotFoundError):
    """A listed stream is no longer there (deleted or expired between the listing and the read)."""

    def __init__(self, location: str, code: str) -> None:
        super().__init__(f"{location} is no longer in the bucket (S3 answered {code})")
        self.location = location
        self.code = code


# (instance id, step name as in the key) -> its streams
LogIndex = dict[tuple[str, str], StepStreams]


@dataclass(frozen=True)
class Listing:
    """What a bounded listing found for the failed steps, and where it did not look."""

    index: LogIndex
    """The failed steps' streams that were found."""
    cut: Mapping[str, int] = field(default_factory=dict)
    """Instance -> keys looked at in its folder, which held more: the rest were skipped unlisted."""
    unlisted: frozenset[str] = frozenset()
    """Instances the listing did not finish before time ran short (and found nothing for)."""
    requests: int = 0
    suspicious: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    """(instance, step) -> the keys of two or more objects that each claim to be one of its
    streams. The agent writes one; any instance may write under the prefix, so a second is
    a possible forgery: none of them is read (see `build_index`)."""


class LogStore(Protocol):
    source: LogSourceName

    def find(
        self, command_id: str, wanted: Mapping[str, str], *, stop: Callable[[], bool] | None = None
    ) -> Listing:
        """The streams of `wanted` (instance id -> name of its failed step); no page starts once
        `stop()` is true. Listing errors are raised."""
        ...

    def read(self, ref: StreamRef) -> StreamRead: ...

    def link(self, ref: StreamRef) -> str: ...


# The agent's layout under `<prefix>/<command-id>/`: `<instance>/<action>/<step>/<stream>`, where
# the instance is an EC2 (`i-`) or managed (`mi-`) node id, the action the plugin without its colon
# (`awsrunShellScript`) and the step a step name (schema 2.x) or `<n>.<plugin>` (schema 1.2).
_INSTANCE_FOLDER = re.compile(r"m?i-[A-Za-z0-9-]{1,64}")
_ACTION_FOLDER = re.compile(r"aws[A-Za-z0-9]{1,64}")
_STEP_FOLDER = re.compile(r"[A-Za-z0-9_.-]{1,128}")


def agent_layout(relative: str) -> tuple[str, str, str, str] | None:
    """`(instance, action, step, stream)` when `relative` (a key under the command's folder) is
    shaped as the agent writes it; None for anything else, which is never read."""
    parts = relative.split("/")
    if len(parts) != 4:
        return None
    instance_id, action, step, stream = parts
    if (
        stream not in STREAMS
        or _INSTANCE_FOLDER.fullmatch(instance_id) is None
        or _ACTION_FOLDER.fullmatch(action) is None
        or _STEP_FOLDER.fullmatch(step) is None
    ):
        return None
    return instance_id, action, step, stream


def build_index(entries: Iterable[tuple[str, int]], root: str) -> LogIndex:
    """Group `(path under root, size)` entries into per-(instance, step) streams. Pure.

    Only the agent's layout counts (`agent_layout`); anything else is ignored. Steps with two
    objects for one stream are left out: `duplicate_streams` names them."""
    index, _ = index_and_duplicates(entries, root)
    return index


def index_and_duplicates(
    entries: Iterable[tuple[str, int]], root: str
) -> tuple[LogIndex, dict[tuple[str, str], tuple[str, ...]]]:
    """`build_index` and the (instance, step) pairs whose streams came twice (under two action
    folders, or a `<n>.<plugin>` folder next to a step folder of the same name), with every key.

    Which object is the agent's cannot be told from the keys: taking the last one in key order (as
    this did before) let any instance replace what a message says about another."""
    found: dict[tuple[str, str], dict[str, object]] = {}
    keys: dict[tuple[str, str], list[str]] = {}
    duplicated: set[tuple[str, str]] = set()
    for location, size in entries:
        relative = location[len(root) :].lstrip("/") if location.startswith(root) else None
        layout = agent_layout(relative) if relative is not None else None
        if layout is None:
            continue
        instance_id, action, step, stream = layout
        slot = found.setdefault((instance_id, step), {"action": action})
        keys.setdefault((instance_id, step), []).append(location)
        if stream in slot or slot["action"] != action:
            duplicated.add((instance_id, step))
        slot[stream] = StreamRef(location=location, size=size)
    index = {
        key: StepStreams(
            action=str(slot["action"]),
            stdout=slot.get("stdout"),  # type: ignore[arg-type]
            stderr=slot.get("stderr"),  # type: ignore[arg-type]
        )
        for key, slot in found.items()
        if key not in duplicated
    }
    return index, {key: tuple(keys[key]) for key in sorted(duplicated)}


def find_streams(index: LogIndex, instance_id: str, step_name: str) -> StepStreams | None:
    """The streams of one step. Schema 2.x keys use the step name; schema 1.2 keys use
    `<n>.<plugin>` (e.g. `0.awsrunShellScript`) while the API names the plugin `aws:runShellScript`."""
    name = key_name(step_name)
    found = index.get((instance_id, name))
    if found is not None:
        return found
    suffix = f".{name}"
    matches = (s for (iid, step), s in index.items() if iid == instance_id and step.endswith(suffix))
    return next(matches, None)


def _step_matches(folder: str, step: str) -> bool:
    """`folder` (as in a key) is the one `find_streams` would take for `step` (already key_name'd)."""
    return folder == step or folder.endswith(f".{step}")


def _folder_end(folder: str) -> str:
    """The smallest string above every key under `folder` (which ends with '/'; '0' follows '/')."""
    return folder[:-1] + "0"


class ListingPlan:
    """Which keys of one command's folder to keep, and where the next page should start. Pure.

    Pages arrive in S3's order (UTF-8 bytes, which is str order). Kept: the streams of each wanted
    instance's failed step. Each wanted instance's folder is listed until `cap` keys were looked at
    (then it is `cut` and skipped); every page starts at the next wanted folder not yet passed, so
    the folders of other instances are crossed only where a page happens to run into them. Never
    more pages than a full listing of the command's folder.
    """

    def __init__(
        self, root: str, wanted: Mapping[str, str], *, cap: int | None = MAX_KEYS_PER_INSTANCE
    ) -> None:
        self.root = root
        self._steps = {instance: key_name(step) for instance, step in wanted.items()}
        # Folders (not ids) in order: 'i-1-2/' sorts before 'i-1/' although 'i-1' < 'i-1-2'.
        self._folders = sorted(f"{root}{instance}/" for instance in self._steps)
        self._cap = cap
        self._position = ""
        self._next = 0
        self._done = not self._folders
        self._stopped = False
        self._seen: Counter[str] = Counter()
        self._cut: set[str] = set()
        self._kept: list[tuple[str, int]] = []
        self.pages = 0

    def next_start(self) -> str | None:
        """StartAfter for the next page, or None when every wanted folder has been looked at."""
        if self._done or self._stopped:
            return None
        while self._next < len(self._folders):
            folder = self._folders[self._next]
            if folder[len(self.root) : -1] not in self._cut and _folder_end(folder) > self._position:
                # Every key of the folder sorts after the folder's name without its slash.
                return max(self._position, folder[:-1])
            self._next += 1
        self._done = True
        return None

    def take(self, keys: Iterable[tuple[str, int]], *, more: bool) -> None:
        """One page, `(key, size)` in order; `more` is S3's IsTruncated."""
        self.pages += 1
        last = self._position
        for key, size in keys:
            last = key
            instance, slash, rest = key[len(self.root) :].partition("/")
            step = self._steps.get(instance) if slash and key.startswith(self.root) else None
            if step is None or instance in self._cut:
                continue
            self._seen[instance] += 1
            if self._cap is not None and self._seen[instance] > self._cap:
                self._seen[instance] = self._cap
                self._cut.add(instance)
                continue
            parts = rest.split("/")
            if len(parts) == 3 and parts[2] in STREAMS and _step_matches(parts[1], step):
                self._kept.append((key, size))
        if not more or last == self._position:  # the end, or a page that moved nowhere
            self._done = True
        self._position = last

    def stop(self) -> None:
        """Time ran short: no more pages; the folders not passed yet are `unlisted`."""
        self._stopped = True

    def result(self) -> Listing:
        index, suspicious = index_and_duplicates(self._kept, self.root)
        unlisted: frozenset[str] = frozenset()
        if self._stopped and not self._done:
            found = {instance for instance, _ in (*index, *suspicious)}
            unlisted = frozenset(
                instance
                for folder in self._folders[self._next :]
                if _folder_end(folder) > self._position
                and (instance := folder[len(self.root) : -1]) not in self._cut
                and instance not in found
            )
        return Listing(
            index=index,
            cut={instance: self._seen[instance] for instance in sorted(self._cut)},
            unlisted=unlisted,
            requests=self.pages,
            suspicious=suspicious,
        )


def plan_ranges(size: int, head: int = HEAD_BYTES, tail: int = TAIL_BYTES) -> list[tuple[int, int]]:
    """Inclusive byte ranges to read: the whole object when small, else its head and its tail."""
    if size <= 0:
        return []
    if size <= head + tail:
        return [(0, size - 1)]
    return [(0, head - 1), (size - tail, size - 1)]


def decode(head: bytes, tail: bytes | None) -> StreamText:
    """Bytes to text without ever failing; a tail read mid-line drops its partial first line."""
    head_text = head.decode("utf-8", errors="replace")
    if tail is None:
        return StreamText(head=head_text, tail="", complete=True)
    tail_text = tail.decode("utf-8", errors="replace")
    newline = tail_text.find("\n")
    if 0 <= newline < len(tail_text) - 1:
        tail_text = tail_text[newline + 1 :]
    return StreamText(head=head_text, tail=tail_text, complete=False)


def read_bounded(fetch: Callable[[int, int], bytes], size: int) -> StreamRead:
    """Read a stream of `size` bytes through `fetch(first, last)` with the head/tail budget."""
    chunks = [fetch(first, last) for first, last in plan_ranges(size)]
    head = chunks[0] if chunks else b""
    tail = chunks[1] if len(chunks) > 1 else None
    return StreamRead(
        text=decode(head, tail),
        bytes_total=size,
        bytes_read=sum(len(c) for c in chunks),
        requests=len(chunks),
    )


def command_root(prefix: str, command_id: str) -> str:
    """`<prefix>/<command-id>/` as the agent joins it (path-style, no doubled slashes)."""
    clean = prefix.strip("/")
    return f"{clean}/{command_id}/" if clean else f"{command_id}/"
