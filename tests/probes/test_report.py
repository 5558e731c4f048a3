"""Result serialisation and the side-by-side report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from physdis_hub.probes.cluster import ClusterResult
from physdis_hub.probes.disentangle import CorrelationResult
from physdis_hub.probes.report import Report, markdown_table


def _result(acc: float) -> ClusterResult:
    return ClusterResult("ward", 10, 2, 2, acc, float("nan"), np.float64(0.5))


def test_markdown_table_formats_and_escapes():
    table = markdown_table([{"a": 0.123456, "b": "x|y"}, {"a": 1, "c": float("nan")}])
    assert table.splitlines() == ["| a | b | c |", "|---|---|---|", "| 0.1235 | x\\|y |  |", "| 1 |  | nan |"]
    with pytest.raises(ValueError, match="rows"):
        markdown_table([])


def test_json_turns_numpy_and_nan_into_plain_values():
    data = json.loads(_result(0.75).to_json())
    assert data["accuracy"] == 0.75 and data["f1"] is None and data["nmi"] == 0.5
    pcc = CorrelationResult(0.2, {"geom-alb": 0.2}, {"geom": np.int64(1)}, 5)
    assert json.loads(pcc.to_json())["constant_dims"] == {"geom": 1}


def test_report_rows_per_method():
    report = Report("clustering").add("ours", _result(0.8)).add("pixels", _result(0.6))
    md = report.to_markdown()
    assert md.startswith("### clustering") and "| ours | 0.8000" in md and "| pixels | 0.6000" in md
    assert set(json.loads(report.to_json())["results"]) == {"ours", "pixels"}
    with pytest.raises(ValueError, match="method: 'ours' is already"):
        report.add("ours", _result(0.1))
