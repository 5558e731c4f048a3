"""The repository's prose: README is a front page, results live in results/, no dangling run folders."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS_PATH = re.compile(r"(?<![\w$/.-])runs/\S")
"""A path under a local ``runs/`` folder (``$RUNS/...`` placeholders are not one)."""


def prose_files() -> list[Path]:
    """README, the docs pages, the experiment reports and the model cards."""
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "results").rglob("*.md")),
        *sorted((ROOT / "model_cards").glob("*.md")),
        *sorted((ROOT / "physdis_hub" / "hub" / "weights").glob("*/README.md")),
    ]


def test_readme_is_a_front_page_without_results_blocks() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    assert "<!-- results:" not in readme  # the table tools write into results/ reports, never README
    assert "python -m pytest -q" in readme  # .ci/run runs the test command README gives


def test_no_prose_names_a_run_folder_except_in_the_command_that_makes_it() -> None:
    dangling = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in prose_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if RUNS_PATH.search(line) and "--out runs/" not in line
    ]
    assert dangling == []


def test_every_report_states_its_question_and_verdict() -> None:
    reports = [p for p in (ROOT / "results").rglob("*.md") if re.match(r"\d{4}-\d{2}-\d{2}-", p.name)]
    assert reports
    for path in reports:
        text = path.read_text(encoding="utf-8")
        for field in ("Question", "Verdict", "Commit", "Data"):
            assert re.search(rf"^- \*\*{field}\*\*: \S", text, re.MULTILINE), f"{path.name}: no {field}"
        data = re.search(r"^- \*\*Data\*\*: `([^`]+)`", text, re.MULTILINE)
        if data is not None:
            assert any((ROOT / data.group(1)).glob("*.csv")), f"{path.name}: no CSV in {data.group(1)}"


def test_every_docs_page_is_in_the_site_navigation() -> None:
    """``mkdocs build --strict`` refuses a page missing from ``nav``; this says so without mkdocs installed."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config[config.index("\nnav:") :]
    listed = set(re.findall(r":\s*([\w./-]+\.md)\s*$", nav, re.MULTILINE))
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert pages - listed == set(), "add these pages to nav in mkdocs.yml"
    assert listed - pages == set(), "nav names pages that do not exist"
