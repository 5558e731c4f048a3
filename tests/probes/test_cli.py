"""``physdis probe`` on .npz feature files."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from physdis_hub.probes.cli import add_probe_subcommands, default_budgets, degenerate_labels, main, run


@pytest.fixture
def npz(tmp_path, blobs):
    x, y = blobs(40, 3, 8)
    rng = np.random.default_rng(0)
    path = tmp_path / "feats.npz"
    np.savez(
        path,
        features=x,
        labels=y,
        tracks=np.arange(len(y)) // 4,
        geom=x[:, :4],
        alb=x[:, 4:],
        light=rng.normal(size=(len(y), 5)),
    )
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
    np.savez(
        path,
        geom=rng.normal(size=(30, 3)),
        alb=rng.normal(size=(30, 3)),
        labels=attrs,
        attribute_names=np.array(["Smiling", "Bald"]),
    )
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


def test_linear_default_budgets_fit_a_small_set(tmp_path, blobs, capsys):
    x, y = blobs(15, 3, 8)  # 45 labelled samples: the paper's 100 / 500 / 1000 do not fit
    path = tmp_path / "small.npz"
    np.savez(path, features=x, labels=y)
    assert main(["probe", "linear", "--features", str(path), "--epochs", "5"]) == 0
    captured = capsys.readouterr()
    assert "budgets [22] (45 labelled samples)" in captured.err and "| n=22 |" in captured.out
    assert default_budgets(120, held_out=False) == [100] and default_budgets(1000, held_out=True) == [100, 500, 1000]
    assert default_budgets(1000, held_out=False) == [100, 500]


def test_one_sample_per_class_warns_that_the_scores_are_fixed(tmp_path, capsys):
    path = tmp_path / "ids.npz"
    np.savez(path, features=np.random.default_rng(0).normal(size=(12, 4)), labels=np.arange(12))
    main(["probe", "cluster", "--features", str(path)])
    assert "each of the 12 samples has a class of its own" in capsys.readouterr().err
    assert degenerate_labels(np.repeat(np.arange(4), 3)) is None and degenerate_labels(np.ones((5, 2))) is None


@pytest.mark.parametrize("words", [["geom,alb"], ["geom", "alb"], ["geom,", "alb"]])
def test_parts_take_commas_or_spaces(npz, words):
    parser = argparse.ArgumentParser(prog="physdis")
    add_probe_subcommands(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["probe", "pcc", "--features", str(npz), "--parts", *words]).parts == ["geom", "alb"]
    with pytest.raises(SystemExit):
        parser.parse_args(["probe", "pcc", "--features", str(npz), "--parts", "geom,shape"])


def test_wiring_into_a_parent_parser(npz, capsys):
    parser = argparse.ArgumentParser(prog="physdis")
    add_probe_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["probe", "pcc", "--features", str(npz), "--parts", "geom,alb"])
    assert args.func is run and run(args) == 0
