"""The wire side of the SSM operations the stand-in serves: errors, the JSON body, paging.

``to_wire`` turns a body (a dict keyed by the member names of the operation's botocore output
shape) into the JSON body of the AWS JSON 1.1 protocol (``None`` members left out, timestamps as
epoch seconds, the way moto's serializer writes them). ``Paging`` and ``paginate`` serve
NextToken/MaxResults the same way for every operation.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import calendar
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.ssm.exceptions import SSMException

from local.standin._ssm_state import (
    as_utc,
)

Body = dict[str, Any]


# --- errors ---------------------------------------------------------------------------------


def service_error(code: str, message: str) -> SSMException:
    """An error moto serialises the AWS way (``__type`` = code), e.g. InvalidCommandId."""
    return SSMException(code, message)


def validation_error(message: str) -> SSMException:
    return service_error("ValidationException", f"1 validation error detected: {message}")


# --- wire format ----------------------------------------------------------------------------


def epoch_seconds(moment: datetime) -> int | float:
    """Epoch seconds truncated to milliseconds, as moto's JSON serializer writes timestamps."""
    moment = as_utc(moment)
    seconds = calendar.timegm(moment.timetuple())
    if moment.microsecond:
        return seconds + (moment.microsecond // 1000) / 1000.0
    return seconds


def _wire_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _wire_value(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_wire_value(item) for item in value]
    if isinstance(value, datetime):
        return epoch_seconds(value)
    return value


def to_wire(body: Mapping[str, Any]) -> str:
    return json.dumps(_wire_value(body), separators=(",", ":"))


# --- request parameters and pagination ------------------------------------------------------


def max_results(params: Mapping[str, Any], *, low: int, high: int, default: int) -> int:
    value = params.get("MaxResults")
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise validation_error(f"Value '{value}' at 'maxResults' failed to satisfy constraint: integer")
    if value > high:
        raise validation_error(
            f"Value '{value}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value less than or equal to {high}"
        )
    if value < low:
        raise validation_error(
            f"Value '{value}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value greater than or equal to {low}"
        )
    return value


@dataclass(frozen=True)
class Paging:
    """One page request. Tokens are opaque, tied to the operation and to the query (every
    parameter but NextToken and MaxResults), and hold the sort key of the last item served, so
    items added or removed between calls neither repeat nor shift the pages."""

    operation: str
    params: Mapping[str, Any]
    limit: int

    @property
    def fingerprint(self) -> str:
        query = {k: v for k, v in self.params.items() if k not in {"NextToken", "MaxResults"}}
        canonical = json.dumps(query, sort_keys=True, default=str)
        return hashlib.sha256(f"{self.operation}:{canonical}".encode()).hexdigest()[:24]

    def encode(self, position: Sequence[Any]) -> str:
        payload = {"v": 1, "q": self.fingerprint, "after": list(position)}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, token: str) -> tuple[Any, ...]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = json.loads(raw)
            valid = payload.get("v") == 1 and payload.get("q") == self.fingerprint
            position = tuple(payload["after"])
        except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
            valid, position = False, ()
        if not valid:
            raise service_error("InvalidNextToken", "The specified token isn't valid.")
        return position


def paginate[T](
    items: Iterable[T], key: Callable[[T], tuple[Any, ...]], paging: Paging
) -> tuple[list[T], str | None]:
    ordered = sorted(items, key=key)
    start = 0
    token = paging.params.get("NextToken")
    if token:
        start = bisect.bisect_right(ordered, paging.decode(str(token)), key=key)
    page = ordered[start : start + paging.limit]
    if page and start + paging.limit < len(ordered):
        return page, paging.encode(key(page[-1]))
    return page, None


def parse_time(value: str, what: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise validation_error(f"Value '{value}' of filter '{what}' is not an ISO 8601 timestamp") from None


def sort_time(moment: datetime | None) -> float:
    return float(epoch_seconds(moment)) if moment is not None else 0.0
