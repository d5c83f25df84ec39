"""S3Logs: a command's logs in its output bucket, found with one bounded listing and read with ranged GETs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from instance_hygiene.digest.logs import (
    Listing,
    ListingPlan,
    LogSourceName,
    StreamGone,
    StreamRead,
    StreamRef,
    command_root,
    read_bounded,
)
from instance_hygiene.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PAGE_KEYS = 1000
"""Keys per ListObjectsV2 page (S3's maximum)."""

# S3 answers a GET of a missing key with 403 instead of 404 when the caller may not list the bucket
# (GetObject API reference); a role allowed to list only under a prefix may get either.
_DENIED_OR_MISSING = frozenset({"AccessDenied", "403"})


class S3Logs:
    """Logs in the command's output bucket: one bounded listing (ListingPlan), ranged GETs."""

    source: LogSourceName = "s3"

    def __init__(self, s3: S3Client, *, bucket: str, prefix: str) -> None:
        self._s3 = s3
        self.bucket = bucket
        self.prefix = prefix

    def find(
        self, command_id: str, wanted: Mapping[str, str], *, stop: Callable[[], bool] | None = None
    ) -> Listing:
        plan = ListingPlan(command_root(self.prefix, command_id), wanted)
        while (start := plan.next_start()) is not None:
            if stop is not None and stop():
                plan.stop()
                break
            page = self._s3.list_objects_v2(
                Bucket=self.bucket, Prefix=plan.root, StartAfter=start, MaxKeys=PAGE_KEYS
            )
            contents = page.get("Contents", [])
            plan.take(((obj["Key"], obj["Size"]) for obj in contents), more=page.get("IsTruncated", False))
        return plan.result()

    def _get(self, key: str, first: int, last: int) -> bytes:
        response = self._s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={first}-{last}")
        return response["Body"].read()

    def _listed(self, key: str) -> bool:
        response = self._s3.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        return any(obj["Key"] == key for obj in response.get("Contents", []))

    def read(self, ref: StreamRef) -> StreamRead:
        """Read a listed stream; raises StreamGone when S3 denies it because it no longer exists."""
        try:
            return read_bounded(lambda first, last: self._get(ref.location, first, last), ref.size)
        except ClientError as error:
            code = error_code(error)
            if code in _DENIED_OR_MISSING and not self._listed(ref.location):
                raise StreamGone(ref.location, code) from error
            raise

    def link(self, ref: StreamRef) -> str:
        return f"s3://{self.bucket}/{ref.location}"
