"""Result containers: every probe returns a dataclass that serialises to JSON and to a markdown table.

:class:`ProbeResult` is the base: subclasses list the scalar metrics shown in tables through
:meth:`ProbeResult.summary`. :class:`Report` puts several results side by side (the model and its
baselines), one table row each.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError

JSON = "json"
"""Field metadata key: ``field(metadata={JSON: False})`` keeps a field (e.g. a trained module) out of
:meth:`ProbeResult.to_dict` and :meth:`ProbeResult.to_json`."""


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [f for f in dataclasses.fields(value) if f.metadata.get(JSON, True)]
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "nan" if not math.isfinite(value) else f"{value:.4f}"
    return str(value).replace("|", "\\|")


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """A GitHub markdown table; columns are the union of the rows' keys in first-seen order.

    Floats are shown with 4 decimals; ``|`` is escaped; missing cells are left empty.
    """
    if not rows:
        raise InputError("rows: need at least one row")
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[c]) if c in row else "" for c in columns) + " |")
    return "\n".join(lines)


class ProbeResult:
    """Mixin for result dataclasses: JSON of every field, markdown of :meth:`summary`."""

    def summary(self) -> dict[str, Any]:
        """Scalar metrics and settings shown as one table row."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (arrays become lists, non-finite floats become ``null``)."""
        return _jsonable(self)

    def to_json(self, indent: int | None = 2) -> str:
        """Every field as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    def to_markdown(self) -> str:
        """:meth:`summary` as a one-row markdown table."""
        return markdown_table([self.summary()])


@dataclass
class Report:
    """Several named results of the same probe (e.g. the model and its baselines).

    Attributes:
        title: heading of the markdown output.
        results: method name -> result, in insertion order.
    """

    title: str
    results: dict[str, ProbeResult] = field(default_factory=dict)

    def add(self, method: str, result: ProbeResult) -> Report:
        """Add a row; returns ``self`` so calls chain."""
        if method in self.results:
            raise InputError(f"method: {method!r} is already in the report")
        self.results[method] = result
        return self

    def to_json(self, indent: int | None = 2) -> str:
        """``{"title": ..., "results": {method: result fields}}`` as JSON text."""
        payload = {"title": self.title, "results": {m: r.to_dict() for m, r in self.results.items()}}
        return json.dumps(payload, indent=indent)

    def to_markdown(self) -> str:
        """A ``### title`` heading and one table row per method."""
        rows = [{"method": m, **r.summary()} for m, r in self.results.items()]
        return f"### {self.title}\n\n" + markdown_table(rows)
