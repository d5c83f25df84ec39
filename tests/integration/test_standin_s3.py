"""The S3 stand-in (local/standin/s3.py) over moto: ranged GETs as S3 serves them, in-process under
mock_aws and through ThreadedMotoServer.

What is asserted as S3 behaviour: botocore's GetObject model (Range: one HTTP byte range, RFC 9110;
"Amazon S3 doesn't support retrieving multiple ranges of data per GET request"; ContentRange,
AcceptRanges, ContentLength of the body returned) and RFC 9110's byte ranges (a last byte past the
end is clipped, a suffix longer than the object is the whole object, a first byte past the end is
unsatisfiable: 416, S3's InvalidRange; an invalid or unsupported range is ignored: 200 whole).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeKey, s3_backends
from moto.s3.responses import S3Response

import local.standin
from local.standin import s3 as standin_s3
from local.standin.s3 import ByteRange, Unsatisfiable, byte_range
from tests.support.stack import MOTO_MODES, moto_endpoint

REGION = "eu-west-2"
BUCKET = "hygiene-range-standin"
BODY = bytes(range(256)) * 40  # 10,240 bytes, every offset tells its position apart
KEY = "logs/stdout"


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def s3_standin() -> Iterator[None]:
    standin_s3.install()
    yield
    standin_s3.uninstall()


def _bucket(endpoint_url: str | None) -> Any:
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint_url)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=BODY)
    s3.put_object(Bucket=BUCKET, Key="empty", Body=b"")
    return s3


@pytest.fixture(params=MOTO_MODES)
def s3(request: pytest.FixtureRequest, aws_environment: None, s3_standin: None) -> Iterator[Any]:
    """A bucket with KEY (BODY) and an empty object: moto in-process, then ThreadedMotoServer."""
    with moto_endpoint(request.param) as url:
        yield _bucket(url)


@pytest.fixture
def whole_reads_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a key's whole value (stock moto's way to answer a range) fails the test."""

    def whole(_: FakeKey) -> bytes:
        raise AssertionError("the whole object was read")

    monkeypatch.setattr(FakeKey, "value", property(whole))


# --- the header as S3 reads it -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-9", 100, ByteRange(0, 9, 100)),
        ("bytes=10-19", 100, ByteRange(10, 19, 100)),
        ("bytes=90-", 100, ByteRange(90, 99, 100)),  # open range: to the end
        ("bytes=-10", 100, ByteRange(90, 99, 100)),  # suffix: the last n bytes
        ("bytes=-500", 100, ByteRange(0, 99, 100)),  # suffix longer than the object: all of it
        ("bytes=95-500", 100, ByteRange(95, 99, 100)),  # past the end: clipped
        ("bytes=99-99", 100, ByteRange(99, 99, 100)),
        ("bytes=0-0", 1, ByteRange(0, 0, 1)),
        ("Bytes=1-2", 100, ByteRange(1, 2, 100)),  # the unit is case-insensitive (RFC 9110)
        ("bytes=0-1,5-6", 100, None),  # several ranges: S3 serves the whole object
        ("bytes=5-2", 100, None),  # last before first: invalid, ignored
        ("bytes=500-2", 100, None),
        ("items=0-2", 100, None),  # another unit
        ("bytes=a-b", 100, None),
        ("bytes=-", 100, None),
        ("bytes=1", 100, None),
        ("bytes=-1-2", 100, None),
        ("", 100, None),
        (None, 100, None),
        ("bytes=-5", 0, None),  # a suffix of an empty object: the (empty) whole
    ],
)
def test_a_range_header_is_read_as_s3_reads_it(
    header: str | None, size: int, expected: ByteRange | None
) -> None:
    assert byte_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=100-200", 100), ("bytes=-0", 100), ("bytes=0-0", 0)]
)
def test_a_range_the_object_has_no_byte_of_is_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        byte_range(header, size)


def test_a_range_knows_its_length_content_range_and_whether_it_is_the_whole_object() -> None:
    part = ByteRange(7, 9, 10)
    assert (part.length, part.content_range, part.whole) == (3, "bytes 7-9/10", False)
    assert ByteRange(0, 9, 10).whole


# --- on the wire -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-1023", 0, 1023),
        ("bytes=4000-4999", 4000, 4999),
        ("bytes=10000-", 10000, len(BODY) - 1),
        ("bytes=-240", len(BODY) - 240, len(BODY) - 1),
        ("bytes=10000-99999", 10000, len(BODY) - 1),
        ("bytes=-99999", 0, len(BODY) - 1),
        ("bytes=0-", 0, len(BODY) - 1),
    ],
)
def test_a_ranged_get_answers_206_with_the_range_s_bytes_alone(
    s3: Any, whole_reads_fail: None, header: str, first: int, last: int
) -> None:
    whole = s3.head_object(Bucket=BUCKET, Key=KEY)
    got = s3.get_object(Bucket=BUCKET, Key=KEY, Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == BODY[first : last + 1]
    assert got["ContentRange"] == f"bytes {first}-{last}/{len(BODY)}"
    assert got["ContentLength"] == last - first + 1
    assert got["AcceptRanges"] == "bytes"
    assert got["ETag"] == whole["ETag"]  # the object's ETag, not the part's
    assert got["LastModified"] == whole["LastModified"]


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=9-3", "items=0-9", "bytes=x-"])
def test_a_range_s3_ignores_serves_the_whole_object(s3: Any, header: str) -> None:
    got = s3.get_object(Bucket=BUCKET, Key=KEY, Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["Body"].read() == BODY
    assert "ContentRange" not in got
    assert got["ContentLength"] == len(BODY)


@pytest.mark.parametrize(
    ("key", "header"), [(KEY, f"bytes={len(BODY)}-"), (KEY, "bytes=-0"), ("empty", "bytes=0-0")]
)
def test_an_unsatisfiable_range_is_416_invalid_range(s3: Any, key: str, header: str) -> None:
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket=BUCKET, Key=key, Range=header)
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 416
    assert response["Error"]["Code"] == "InvalidRange"
    assert response["Error"]["RangeRequested"] == header


def test_a_head_with_a_range_answers_for_the_part(s3: Any) -> None:
    head = s3.head_object(Bucket=BUCKET, Key=KEY, Range="bytes=100-199")
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert (head["ContentRange"], head["ContentLength"]) == (f"bytes 100-199/{len(BODY)}", 100)
    ignored = s3.head_object(Bucket=BUCKET, Key=KEY, Range="bytes=0-1,5-6")
    assert ignored["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert ignored["ContentLength"] == len(BODY)


def test_a_get_without_a_range_is_moto_s_own(s3: Any) -> None:
    got = s3.get_object(Bucket=BUCKET, Key=KEY)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["Body"].read() == BODY
    assert got["AcceptRanges"] == "bytes"


def test_a_part_of_an_object_carries_no_checksum_and_the_whole_does(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="summed", Body=BODY, ChecksumAlgorithm="SHA256")
    whole = s3.get_object(Bucket=BUCKET, Key="summed", ChecksumMode="ENABLED")
    part = s3.get_object(Bucket=BUCKET, Key="summed", ChecksumMode="ENABLED", Range="bytes=0-9")
    every = s3.get_object(
        Bucket=BUCKET, Key="summed", ChecksumMode="ENABLED", Range=f"bytes=0-{len(BODY) - 1}"
    )
    assert "ChecksumSHA256" in whole
    assert "ChecksumSHA256" not in part
    assert every["ChecksumSHA256"] == whole["ChecksumSHA256"]


def test_response_overrides_and_metadata_are_kept_for_a_range(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="typed", Body=BODY, ContentType="text/plain", Metadata={"run": "7"})
    got = s3.get_object(
        Bucket=BUCKET, Key="typed", Range="bytes=0-9", ResponseContentType="application/x-log"
    )
    assert (got["ContentType"], got["Metadata"]) == ("application/x-log", {"run": "7"})


def test_a_conditional_ranged_get_still_answers_not_modified(s3: Any) -> None:
    etag = s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket=BUCKET, Key=KEY, Range="bytes=0-9", IfNoneMatch=etag)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


def test_a_ranged_get_of_a_version_reads_that_version(s3: Any) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=BUCKET, Key="v", Body=b"first body")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="v", Body=b"second body")
    got = s3.get_object(Bucket=BUCKET, Key="v", VersionId=first, Range="bytes=0-4")
    assert (got["Body"].read(), got["VersionId"]) == (b"first", first)


def test_a_range_of_a_spooled_object_reads_from_the_buffer(aws_environment: None, s3_standin: None) -> None:
    # moto spools a value above ~5 MB to a temporary file; the range is read from there.
    big = b"x" * (6 * 1024 * 1024) + b"tail"
    with mock_aws():
        s3 = _bucket(None)
        s3.put_object(Bucket=BUCKET, Key="big", Body=big)
        key = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_object(BUCKET, "big")
        assert key is not None
        assert key._value_buffer._rolled  # moto's own state: spooled to a file
        got = s3.get_object(Bucket=BUCKET, Key="big", Range="bytes=-4")
        assert (got["Body"].read(), got["ContentRange"]) == (
            b"tail",
            f"bytes {len(big) - 4}-{len(big) - 1}/{len(big)}",
        )


# --- installation ------------------------------------------------------------------------------


def test_install_is_idempotent_and_uninstall_gives_moto_its_methods_back() -> None:
    stock = (S3Response.get_object, S3Response._handle_range_header)
    standin_s3.install()
    standin_s3.install()
    try:
        assert standin_s3.installed()
        assert S3Response.get_object is not stock[0]
    finally:
        standin_s3.uninstall()
    assert not standin_s3.installed()
    assert (S3Response.get_object, S3Response._handle_range_header) == stock


def test_the_stand_in_s_install_puts_in_the_s3_ranges_with_the_ssm_operations() -> None:
    local.standin.install()
    try:
        assert local.standin.installed()
        assert standin_s3.installed()
    finally:
        local.standin.reset()
        local.standin.uninstall()
    assert not standin_s3.installed()
