"""The offline stand-in in this process, and the two places the bench reaches into moto.

`in_process()` is the fast path: `moto.mock_aws()` with `local.standin.ssm.install()`.
Objects are written straight into moto's backend (`put_bytes`, and `put_large`, which streams a
1 GiB body into moto's spooled buffer in 8 MiB chunks), for set-up speed only. `faithful_ranges()`
optionally serves a ranged GET from the buffer, as S3 does, instead of reading the whole object
and slicing it as stock moto does (whose cost then grows with the object, unlike S3's).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto import mock_aws
from moto.s3.models import s3_backends
from moto.s3.responses import S3Response

from bench.stack import ACCOUNT, BUCKET, Stack, create_stack, set_product_env
from local.standin import ssm as standin


@contextmanager
def in_process() -> Iterator[Stack]:
    """moto in this process with our SSM extensions; everything is gone on exit."""
    set_product_env()
    standin.install()
    with mock_aws():
        yield create_stack()
    standin.reset()


def _bucket_backend() -> Any:
    return s3_backends[ACCOUNT]["aws"]


def put_bytes(key: str, body: bytes) -> None:
    """An object in the log bucket, straight into moto's backend (no request, no MD5 of the body)."""
    _bucket_backend().put_object(BUCKET, key, body, etag="bench", disable_notification=True)


def put_large(key: str, size: int, *, head: bytes, filler: bytes, tail: bytes) -> None:
    """A `size`-byte object: `head`, `filler` repeated, then `tail`, written in 8 MiB chunks.

    Memory stays at one chunk; moto spools anything above ~5 MB to a temporary file.
    """
    if size < len(head) + len(tail):
        raise ValueError(f"{size} bytes cannot hold the head and tail")
    fake = _bucket_backend().put_object(BUCKET, key, b"", etag="bench", disable_notification=True)
    chunk = filler * max(1, (8 * 1024 * 1024) // len(filler))
    middle = size - len(head) - len(tail)
    with fake.lock:
        buffer = fake._value_buffer
        buffer.seek(0)
        buffer.truncate()
        buffer.write(head)
        while middle > 0:
            piece = chunk[:middle]
            buffer.write(piece)
            middle -= len(piece)
        buffer.write(tail)
        fake.contentsize = size


# --- ranged GETs as S3 serves them ---------------------------------------------------------------

_STOCK_GET_OBJECT: Any = None


def _simple_range(header: str | None) -> tuple[int, int] | None:
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header.removeprefix("bytes=").partition("-")
    if not first.isdigit() or not last.isdigit():
        return None
    return int(first), int(last)


def _get_object_range(self: S3Response) -> Any:
    wanted = _simple_range(self.headers.get("range"))
    if wanted is None:
        return _STOCK_GET_OBJECT(self)
    key, not_modified = self._get_key()
    first, last = wanted
    if not_modified or first >= key.size or first > last:
        return _STOCK_GET_OBJECT(self)
    last = min(last, key.size - 1)
    with key.lock:
        key._value_buffer.seek(first)
        body = key._value_buffer.read(last - first + 1)
    headers = self._get_cors_headers_other()
    headers.update(key.response_dict)
    headers.update(key.metadata)
    headers.update(
        {
            "Accept-Ranges": "bytes",
            "content-range": f"bytes {first}-{last}/{key.size}",
            "content-length": str(len(body)),
        }
    )
    return 206, headers, body


def faithful_ranges(enabled: bool) -> None:
    """Serve `Range: bytes=a-b` GETs by reading only those bytes (stock moto reads the whole
    object and slices it, so its cost grows with the object, unlike S3's)."""
    global _STOCK_GET_OBJECT  # noqa: PLW0603 - one process-wide patch, undone by enabled=False
    if enabled and _STOCK_GET_OBJECT is None:
        _STOCK_GET_OBJECT = S3Response.get_object
        S3Response.get_object = _get_object_range  # type: ignore[method-assign]
    elif not enabled and _STOCK_GET_OBJECT is not None:
        S3Response.get_object = _STOCK_GET_OBJECT  # type: ignore[method-assign]
        _STOCK_GET_OBJECT = None
