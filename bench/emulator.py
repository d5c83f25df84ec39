"""The offline stand-in in this process, and the places the bench reaches into moto.

`in_process()` is the fast path: `moto.mock_aws()` with `local.standin.install()` (the SSM
operations, and ranged GETs served as S3 serves them). Objects are written straight into moto's
backend (`put_bytes`, and `put_large`, which streams a 1 GiB body into moto's spooled buffer in
8 MiB chunks), for set-up speed only. `faithful_ranges(False)` puts stock moto's ranged GET back
(the whole object read and sliced, whose cost grows with the object, unlike S3's), so that the
bench can measure what the stand-in's ranges change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto import mock_aws
from moto.s3.models import s3_backends

from bench.stack import ACCOUNT, BUCKET, Stack, create_stack, set_product_env
from local import standin
from local.standin import s3 as standin_s3


@contextmanager
def in_process() -> Iterator[Stack]:
    """moto in this process with the stand-in's extensions; everything is gone on exit."""
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


def faithful_ranges(enabled: bool) -> None:
    """Ranged GETs as the stand-in serves them (`local.standin.s3`: the range's bytes alone, as S3
    does), or, with enabled=False, stock moto's way (the whole object read, then sliced, so its
    cost grows with the object): the bench measures both."""
    if enabled:
        standin_s3.install()
    else:
        standin_s3.uninstall()
