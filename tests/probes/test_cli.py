"""``physdis probe`` on .npz feature files."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from physdis_hub.probes.cli import add_probe_subcommands, main, run


@pytest.fixture
def npz(tmp_path, blobs):
    x, y = blobs(40, 3, 8)
    rng = np.random.default_rng(0)
    path = tmp_path / "feats.npz"
    np.savez(path, features=x, labels=y, tracks=np.arange(len(y)) // 4, geom=x[:, :4], alb=x[:, 4:],
             light=rng.normal(size=(len(y), 5)))  # fmt: skip
    return path


def test_cluster_prints_markdown_and_writes_json(npz, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["probe", "cluster", "--features", str(npz), "--json", str(out)]) == 0
    assert capsys.readouterr().out.startswith("| cluster acc |")
    result = json.loads(out.read_text())
    assert result["per_track"] and result["n_samples"] == 30 and result["accuracy"] == pytest.approx(1.0)


def test_cluster_on_selected_parts_and_attributes(tmp_path, capsys):
    rng = np.random.default_rng(0)
    attrs = rng.integers(0, 2, size=(30, 2))
    path = tmp_path / "attrs.npz"
    np.savez(path, geom=rng.normal(size=(30, 3)), alb=rng.normal(size=(30, 3)), labels=attrs,
             attribute_names=np.array(["Smiling", "Bald"]))  # fmt: skip
    main(["probe", "cluster", "--features", str(path), "--parts", "geom,alb"])
    assert "| mean cluster acc |" in capsys.readouterr().out


def test_linear_budgets_hold_out_the_rest(npz, tmp_path, capsys):
    out = tmp_path / "lin.json"
    args = ["--budgets", "30", "60", "--epochs", "30", "--lr", "0.01", "--json", str(out)]
    main(["probe", "linear", "--features", str(npz), *args])
    assert "| n=30 |" in capsys.readouterr().out
    results = json.loads(out.read_text())["results"]
    assert [results[k]["n_test"] for k in ("n=30", "n=60")] == [90, 60]
    assert results["n=60"]["accuracy"] > 0.9


def test_linear_with_a_test_file(npz, capsys):
    main(["probe", "linear", "--features", str(npz), "--test", str(npz), "--budgets", "30", "--epochs", "5"])
    assert "| n=30 | " in capsys.readouterr().out


def test_pcc_uses_every_part_in_the_file(npz, capsys):
    main(["probe", "pcc", "--features", str(npz)])
    header = capsys.readouterr().out.splitlines()[0]
    assert "geom-alb" in header and "geom-light" in header and "alb-light" in header


def test_errors_exit_with_a_message(npz, tmp_path):
    with pytest.raises(SystemExit, match="no 'view' array"):
        main(["probe", "cluster", "--features", str(npz), "--parts", "geom,view"])
    with pytest.raises(SystemExit, match="is not a file"):
        main(["probe", "pcc", "--features", str(tmp_path / "absent.npz")])
    bad = tmp_path / "bad.npz"
    np.savez(bad, features=np.ones((6, 2)), labels=np.zeros(6))
    with pytest.raises(SystemExit, match="labels: need at least 2 distinct classes"):
        main(["probe", "cluster", "--features", str(bad)])
    unlabelled = tmp_path / "unlabelled.npz"
    np.savez(unlabelled, features=np.ones((6, 2)), names=np.array([f"{i}.png" for i in range(6)]))
    with pytest.raises(SystemExit, match=r"no 'labels' array .*; pass --labels LABELS\.csv"):
        main(["probe", "cluster", "--features", str(unlabelled)])
    with pytest.raises(SystemExit, match=r"--budgets: 500 exceeds the 120 labelled samples in .*feats\.npz"):
        main(["probe", "linear", "--features", str(npz), "--budgets", "30", "500"])


def test_wiring_into_a_parent_parser(npz, capsys):
    parser = argparse.ArgumentParser(prog="physdis")
    add_probe_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["probe", "pcc", "--features", str(npz), "--parts", "geom,alb"])
    assert args.func is run and run(args) == 0
