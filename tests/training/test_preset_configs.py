"""Every preset's resolved configuration (at its default variant) is committed under
``tests/training/fixtures/presets/<name>.json`` as ``--print-config`` prints it, so that a change to
any preset shows up in review as a diff of the settings a run gets.

After an intended change, rewrite the files with
``python -c "from tests.training.test_preset_configs import write_resolved; write_resolved()"``.
"""

from __future__ import annotations

import json

import pytest

from tests.training.conftest import REPO
from training.presets import PRESETS, build_preset
from training.train import config_json, main

FIXTURES = REPO / "tests" / "training" / "fixtures" / "presets"
DATA_DIR = "DATA_DIR"
"""The ``--data-dir`` of the real-data presets in the fixtures (a placeholder, never read)."""


def resolved(name: str) -> str:
    """``--print-config`` of preset ``name`` with ``--data-dir DATA_DIR``, the repository's path as ``<repo>``."""
    return config_json(build_preset(name, data_dir=DATA_DIR)).replace(str(REPO), "<repo>")


def write_resolved() -> None:
    """Rewrite every fixture from the presets as they are now."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name in PRESETS:
        (FIXTURES / f"{name}.json").write_text(resolved(name))


@pytest.mark.parametrize("name", list(PRESETS))
def test_resolved_preset_matches_the_committed_config(name: str) -> None:
    committed = (FIXTURES / f"{name}.json").read_text()
    assert json.loads(resolved(name)) == json.loads(committed), f"preset {name} changed: see this module's docstring"
    assert json.loads(committed)["loocc"]["variant"] == PRESETS[name].variant


def test_print_config_prints_the_resolved_config_and_trains_nothing(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    assert main(["--preset", "faces-synthetic-cpu", "--data-dir", DATA_DIR, "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == json.loads((FIXTURES / "faces-synthetic-cpu.json").read_text())
    assert json.loads(printed)["loocc"]["variant"] == "LV"  # the shipped faces model's variant
    assert list(tmp_path.iterdir()) == []  # no run directory, no data
    assert main(["--preset", "faces-synthetic-cpu", "--variant", "none", "--lr", "0.001", "--print-config"]) == 0
    changed = json.loads(capsys.readouterr().out)
    assert changed["loocc"]["variant"] == "none" and changed["optim"]["lr"] == 0.001


def test_out_is_required_to_train(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_info:
        main(["--preset", "tiny"])
    assert exit_info.value.code == 2 and "--out" in capsys.readouterr().err
