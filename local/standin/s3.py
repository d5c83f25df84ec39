"""S3 stand-in: ranged GETs served as S3 serves them, over moto's own objects.

Stock moto 5.2 answers ``Range: bytes=a-b`` by reading the whole object out of its buffer and
slicing it, so a ranged GET costs the object's size (and holds it in memory) where S3's costs the
range's. ``install()`` replaces ``S3Response.get_object`` with one that reads only the range from
the key's value buffer, and moto's ``_handle_range_header`` (the range applied to an answer already
built: HEAD, and a GET served whole) with one that reads the header the same way, so that GET and
HEAD agree. Like the SSM extensions, it works in-process under ``moto.mock_aws()`` and through
``moto.server.ThreadedMotoServer`` in the same process.

The Range header as S3 reads it (GetObject's ``Range``: one byte range of RFC 9110; "Amazon S3
doesn't support retrieving multiple ranges of data per GET request"):

- ``bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` answer 206 with the range's bytes,
  ``Content-Range: bytes a-b/size``, ``Accept-Ranges: bytes``, the part's Content-Length and the
  whole object's ETag; a last byte past the end is clipped to the end, a suffix longer than the
  object is the whole object;
- a first byte at or past the end, or a suffix of 0 bytes, is unsatisfiable: 416 InvalidRange
  (with the requested range and the object's size, as moto words it);
- what S3 ignores is served as if there were no Range (200, the whole object): several ranges,
  another unit than bytes, a last byte before the first, anything unparsable; and a suffix of an
  empty object;
- a range that is not the whole object carries no ``x-amz-checksum-*`` headers (the checksum is
  the whole object's), as in stock moto.

Conditional requests (a 304), ``partNumber`` and everything else stay moto's own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.core.mime_types import APP_XML
from moto.s3.exceptions import InvalidRange
from moto.s3.responses import ALLOWED_HEADER_OVERRIDES, S3Response

__all__ = ["ByteRange", "Unsatisfiable", "byte_range", "install", "installed", "uninstall"]

_INSTALL_LOCK = threading.Lock()
# Methods of S3Response as they were before install().
_ORIGINALS: dict[str, Callable[..., Any]] = {}


@dataclass(frozen=True)
class ByteRange:
    """The bytes first..last (inclusive) of an object of `size` bytes."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.size}"

    @property
    def whole(self) -> bool:
        return self.first == 0 and self.last == self.size - 1


class Unsatisfiable(ValueError):
    """A range none of whose bytes the object has (S3's 416 InvalidRange)."""


def byte_range(header: str | None, size: int) -> ByteRange | None:
    """The range a Range header asks of an object of `size` bytes, as S3 reads it.

    None: S3 ignores the header and serves the whole object. Raises Unsatisfiable for a 416.
    """
    unit, equals, spec = (header or "").strip().partition("=")
    if not equals or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    if not dash or not (first_text.isdigit() or last_text.isdigit()):
        return None
    if (first_text and not first_text.isdigit()) or (last_text and not last_text.isdigit()):
        return None
    if not first_text:  # a suffix: the last n bytes
        suffix = int(last_text)
        if suffix == 0:
            raise Unsatisfiable(header)
        if size == 0:
            return None
        return ByteRange(max(0, size - suffix), size - 1, size)
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None
    if first >= size:
        raise Unsatisfiable(header)
    return ByteRange(first, min(last, size - 1), size)


def _invalid_range(response: S3Response, size: int) -> InvalidRange:
    return InvalidRange(range_requested=str(response.headers.get("range")), actual_size=str(size))


def _get_object(self: S3Response) -> Any:
    """GetObject; a satisfiable range is read from the key's buffer alone."""
    header = self.headers.get("range")
    if not header or self._get_int_param("partNumber"):
        return _ORIGINALS["get_object"](self)
    key, not_modified = self._get_key()
    if not_modified:
        return _ORIGINALS["get_object"](self)
    try:
        wanted = byte_range(header, key.size)
    except Unsatisfiable:
        raise _invalid_range(self, key.size) from None
    if wanted is None:
        return _ORIGINALS["get_object"](self)  # whole; _handle_range_header leaves it whole
    headers = self._get_cors_headers_other()
    if key.version_id != "null":
        headers["x-amz-version-id"] = key.version_id
    headers.update(key.response_dict)
    if wanted.whole and self.headers.get("x-amz-checksum-mode") == "ENABLED" and key.checksum_algorithm:
        checksum = key.checksum_value
        if key.checksum_type == "COMPOSITE":
            checksum = f"{checksum}-{key.checksum_parts}"
        headers[f"x-amz-checksum-{key.checksum_algorithm.lower()}"] = checksum
        if key.checksum_type:
            headers["x-amz-checksum-type"] = key.checksum_type
    headers.update(key.metadata)
    headers["Accept-Ranges"] = "bytes"
    for parameter, name in ALLOWED_HEADER_OVERRIDES.items():
        if parameter in self.querystring:
            for existing in [h for h in headers if h.lower() == name.lower()]:
                headers.pop(existing)
            headers[name] = self.querystring[parameter][0]
    with key.lock:
        key._value_buffer.seek(wanted.first)
        body = key._value_buffer.read(wanted.length)
    headers["content-range"] = wanted.content_range
    headers["content-length"] = str(len(body))
    return 206, headers, body


def _handle_range_header(
    self: S3Response, request: Any, response_headers: dict[str, Any], response_content: Any
) -> Any:
    """The range applied to a 200 answer already built (HEAD; a GET served whole): as above."""
    head = request.method == "HEAD"
    size = int(response_headers["content-length"]) if head else len(response_content)
    try:
        wanted = byte_range(request.headers.get("range"), size)
    except Unsatisfiable:
        if head:
            return 416, {"Content-Type": APP_XML}, b""
        raise _invalid_range(self, size) from None
    if wanted is None:
        return 200, response_headers, response_content
    if not wanted.whole:
        for name in [h for h in response_headers if h.startswith("x-amz-checksum-")]:
            del response_headers[name]
    response_headers["content-range"] = wanted.content_range
    response_headers["content-length"] = str(wanted.length)
    if head:
        return 206, response_headers, response_content
    return 206, response_headers, response_content[wanted.first : wanted.last + 1]


def installed() -> bool:
    return bool(_ORIGINALS)


def install() -> None:
    """Patch moto's S3 response class. Idempotent; affects every moto backend in the process."""
    with _INSTALL_LOCK:
        if _ORIGINALS:
            return
        for name, method in {"get_object": _get_object, "_handle_range_header": _handle_range_header}.items():
            _ORIGINALS[name] = getattr(S3Response, name)
            setattr(S3Response, name, method)


def uninstall() -> None:
    """Give moto its own methods back."""
    with _INSTALL_LOCK:
        for name, method in _ORIGINALS.items():
            setattr(S3Response, name, method)
        _ORIGINALS.clear()
