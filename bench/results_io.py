"""Results to JSON and back, so a report can be re-rendered without measuring again
(`python -m bench --from-json FILE`)."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

from bench.results import Results


def dump(results: Results, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dataclasses.asdict(results), default=str, indent=1))


def load(path: Path) -> Results:
    value = _build(Results, json.loads(path.read_text()))
    if not isinstance(value, Results):
        raise TypeError(f"{path} does not hold bench results")
    return value


def _build(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _build(options[0], value) if len(options) == 1 else value
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        fields = {
            f.name: _build(hints[f.name], value[f.name]) for f in dataclasses.fields(kind) if f.name in value
        }
        return kind(**fields)
    if origin is list:
        return [_build(args[0], item) for item in value]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], item) for item in value)
        return tuple(_build(a, item) for a, item in zip(args, value, strict=False))
    if origin is dict:
        return {key: _build(args[1], item) for key, item in value.items()}
    if kind is Path:
        return Path(value)
    return value
