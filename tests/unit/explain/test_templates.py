"""explain.templates: a reason template drops the segments whose capture is missing."""

from __future__ import annotations

import pytest

from instance_hygiene.explain.templates import fill


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("lock {path} held[ by {process}][ (pid {pid})]", {"path": "/l", "pid": "7"}, "lock /l held (pid 7)"),
        ("lock {path} held[ by {process}]", {"path": "/l", "process": "apt"}, "lock /l held by apt"),
        ("a {missing} b", {}, "a ? b"),
        ("[{a} and {b}] end", {"a": "x"}, "end"),
    ],
)
def test_templates_drop_a_segment_whose_capture_is_missing(
    template: str, values: dict[str, str], expected: str
) -> None:
    assert fill(template, values) == expected
