"""One base for every configuration dataclass: to and from plain dicts and JSON.

A config class is a frozen dataclass deriving from :class:`ConfigBase`. :meth:`ConfigBase.to_dict`
gives a JSON-ready dict (tuples become lists, nested configs nested dicts); :meth:`ConfigBase.from_dict`
rebuilds the config, finding the types of nested configs and tuples from the field annotations
(:func:`typing.get_type_hints`), and refuses unknown keys by name, so a typo never passes silently.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

C = TypeVar("C", bound="ConfigBase")


class ConfigBase:
    """Serialisation shared by the configuration dataclasses (a mixin: it has no fields)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: nested configs as dicts, tuples as lists."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls: type[C], data: Any, where: str | None = None) -> C:
        """Build from :meth:`to_dict` output.

        Args:
            data: the dict.
            where: how error messages name it (default: the class name).

        Raises:
            ValueError: ``data`` is not a dict, has unknown keys (named), or values the config refuses.
        """
        where = where or cls.__name__
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; expected some of {sorted(names)}")
        hints = typing.get_type_hints(cls)
        kwargs = {name: _load(hints[name], value, f"{where}.{name}") for name, value in data.items()}
        try:
            return cls(**kwargs)
        except TypeError as err:
            raise ValueError(f"{where}: {err}") from err

    def to_json(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as indented JSON with sorted keys."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def from_json(cls: type[C], path: str | Path) -> C:
        """Read a file written by :meth:`to_json`."""
        try:
            data = json.loads(Path(path).read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        return cls.from_dict(data)

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _plain(value: Any) -> Any:
    if isinstance(value, ConfigBase):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _load(hint: Any, value: Any, where: str) -> Any:
    """``value`` as the annotation ``hint`` asks: nested configs built, lists that are tuples restored."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if value is None or len(options) != 1:
            return value
        return _load(options[0], value, where)
    if isinstance(hint, type) and issubclass(hint, ConfigBase):
        return hint.from_dict(value, where)
    if origin is tuple and isinstance(value, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_load(args[0], v, where) for v in value)
        if len(args) == len(value):
            return tuple(_load(a, v, where) for a, v in zip(args, value))
        return tuple(value)
    return value
